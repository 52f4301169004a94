"""The residual Phi at run time: the training-free transfer plus the network's correction.

    J_gen = L_t + intensity * (s * (L_s - N_s) + C(L_s - N_s, N_s, L_t))

(`reenact_lab.nn.fusion_residual`). What depends only on the two neutrals (the transfer's
scales, U(L_t) - U(N_s)) is computed once per pair of neutrals; a frame then costs the k
expression coefficients and their sum, two small matrix-vector products in numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reenact.config import Config
from reenact.engine.arrays import load_arrays
from reenact.errors import WeightsError
from reenact.fusion.mlp import INPUT_GAIN, ResidualRealisation
from reenact.fusion.transfer import TrainingFreeFusion


class ResidualNetworkFusion:
    """`fuse(source, source_neutral, target_neutral, intensity) -> (478,3)` with the residual Phi.

    model: a `ResidualRealisation` (`reenact.fusion.mlp`, the network in numpy); size: the
    aligned crop side (landmarks in its pixels).
    """

    name = "network"

    def __init__(
        self, *, model: ResidualRealisation, size: int, weights: Path | None = None
    ) -> None:
        self.model = model
        self.weights = weights
        self.size = size
        self.free = TrainingFreeFusion()
        # V, scaled so it takes crop-pixel deviations: unit = px * 2 / size, times INPUT_GAIN
        self.basis = model.basis * np.float32(INPUT_GAIN * 2.0 / size)
        self._key: tuple[bytes, bytes] | None = None
        self._swap: np.ndarray | None = None

    @classmethod
    def from_weights(cls, path: Path, config: Config) -> ResidualNetworkFusion:
        arrays, meta = load_arrays(path)
        try:
            shape = {k: int(meta[k]) for k in ("num_points", "dims", "hidden", "code", "basis")}
        except (KeyError, ValueError) as exc:
            raise WeightsError(f"{path}: incomplete fusion_residual metadata ({exc})") from None
        model = ResidualRealisation(arrays, **shape, path=path)
        return cls(model=model, size=config.renderer.size, weights=Path(path))

    def _unit(self, pixels: np.ndarray) -> np.ndarray:
        unit = np.asarray(pixels, np.float32)[None] * np.float32(2.0 / self.size)
        unit[..., :2] -= 1.0
        return unit

    def _prepare(self, source_neutral: np.ndarray, target_neutral: np.ndarray) -> np.ndarray:
        """(k, P*3) U(L_t) - U(N_s) in crop pixels per coefficient, once per pair of neutrals."""
        key = (source_neutral.tobytes(), target_neutral.tobytes())
        if key != self._key or self._swap is None:
            both = self.model.realisation(
                np.concatenate([self._unit(target_neutral), self._unit(source_neutral)])
            )
            swap = (both[0] - both[1]) / INPUT_GAIN * (self.size / 2.0)
            self._swap, self._key = np.ascontiguousarray(swap, np.float32), key
        return self._swap

    def correction(
        self, source: np.ndarray, source_neutral: np.ndarray, target_neutral: np.ndarray
    ) -> np.ndarray:
        """C in crop pixels, (478,3) float32 (all inputs (478,3) crop pixels)."""
        swap = self._prepare(source_neutral, target_neutral)
        deviation = (np.asarray(source, np.float32) - source_neutral).reshape(-1)
        # elementwise products and sums, not BLAS: a multi-threaded BLAS call on vectors this
        # small costs more in thread hand-off than the arithmetic (tens of ms on a busy CPU)
        coefficients = np.einsum("kf,f->k", self.basis, deviation, optimize=False)
        return np.einsum("k,kf->f", coefficients, swap, optimize=False).reshape(source.shape[0], -1)

    def fuse(
        self,
        source: np.ndarray,
        source_neutral: np.ndarray,
        target_neutral: np.ndarray,
        intensity: float = 1.0,
    ) -> np.ndarray:
        """All (478,3) float32 aligned-crop pixels; returns J_gen (478,3) float32. intensity is
        clamped to [0, 1.5], as the training-free transfer does."""
        transfer = self.free.fuse(source, source_neutral, target_neutral, 1.0)
        amount = np.float32(np.clip(intensity, 0.0, 1.5))
        deviation = (
            transfer - target_neutral + self.correction(source, source_neutral, target_neutral)
        )
        return (target_neutral + amount * deviation).astype(np.float32)
