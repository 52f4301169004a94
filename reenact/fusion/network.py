"""Phi at run time: the landmark-fusion autoencoder behind the fuser interface.

    J_gen = L_t + intensity * (Phi(L_s, L_t) - Phi(N_s, L_t))

L_s: the actor's aligned landmarks; N_s: the actor's neutral; L_t: the target's neutral. Taking
the network's deviation relative to the one it gives for the actor's own neutral face makes the
actor's expression a deviation from *their* neutral: a neutral actor leaves the target neutral,
whatever identity geometry leaks through Phi. The network runs in numpy (`reenact.fusion.mlp`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reenact.config import Config
from reenact.engine.arrays import load_arrays, read_meta
from reenact.engine.shipped import find_weights
from reenact.errors import WeightsError
from reenact.fusion import register_fuser
from reenact.fusion.mlp import FusionAE


class NetworkFusion:
    """`fuse(source, source_neutral, target_neutral, intensity) -> (478,3)` with Phi."""

    name = "network"

    def __init__(self, *, model: FusionAE, size: int, weights: Path | None = None) -> None:
        self.model = model
        self.weights = weights
        self.size = size
        self.dims = model.dims
        self._neutrals: tuple[np.ndarray, np.ndarray] | None = None
        self._neutral_dev: np.ndarray | None = None

    @classmethod
    def from_weights(cls, path: Path, config: Config) -> NetworkFusion:
        meta = read_meta(path)
        if meta.get("arch") == "fusion_code":  # the shipped Phi: an expression-code autoencoder
            from reenact.fusion.coded import CodeFusion

            return CodeFusion.from_weights(path, config)
        if meta.get("arch") == "fusion_residual":  # a correction of the transfer (2026-11)
            from reenact.fusion.residual import ResidualNetworkFusion

            return ResidualNetworkFusion.from_weights(path, config)
        if meta.get("arch") != "fusion":
            raise WeightsError(f"{path}: holds '{meta.get('arch', '?')}' weights, expected fusion")
        try:
            shape = {k: int(meta[k]) for k in ("num_points", "dims", "hidden", "code")}
        except (KeyError, ValueError) as exc:
            raise WeightsError(f"{path}: incomplete fusion metadata ({exc})") from None
        if shape["dims"] not in (2, 3):
            raise WeightsError(f"{path}: fusion dims must be 2 or 3, got {shape['dims']}")
        arrays, _ = load_arrays(path)
        model = FusionAE(arrays, **shape, path=path)
        return cls(model=model, size=config.renderer.size, weights=Path(path))

    def _unit(self, landmarks: np.ndarray) -> np.ndarray:
        """(478, 3) crop pixels -> (1, 478, dims) unit crop coordinates (as the lab's
        `crop_to_unit`)."""
        unit = np.asarray(landmarks[None, :, : self.dims], np.float32) * np.float32(2.0 / self.size)
        unit[..., :2] -= np.float32(1.0)
        return unit

    def _deviation(self, source: np.ndarray, target_unit: np.ndarray) -> np.ndarray:
        return self.model(self._unit(source), target_unit)

    def _same_neutrals(self, source_neutral: np.ndarray, target_neutral: np.ndarray) -> bool:
        """Phi(N_s, L_t) is cached while both neutrals stay the same."""
        return self._neutrals is not None and all(
            np.array_equal(a, b) for a, b in zip(self._neutrals, (source_neutral, target_neutral))
        )

    def fuse(
        self,
        source: np.ndarray,
        source_neutral: np.ndarray,
        target_neutral: np.ndarray,
        intensity: float = 1.0,
    ) -> np.ndarray:
        """All (478,3) float32 in aligned crop pixels; returns J_gen, (478,3) float32."""
        intensity = float(np.clip(intensity, 0.0, 1.5))
        target_unit = self._unit(target_neutral)
        if self._neutral_dev is None or not self._same_neutrals(source_neutral, target_neutral):
            self._neutral_dev = self._deviation(source_neutral, target_unit)
            self._neutrals = (source_neutral.copy(), target_neutral.copy())
        deviation = self._deviation(source, target_unit) - self._neutral_dev
        fused = target_neutral.astype(np.float32, copy=True)
        fused[:, : self.dims] += intensity * deviation[0] * (self.size / 2.0)
        return fused


@register_fuser("network")
def build_network(config: Config) -> NetworkFusion:
    """`fusion.kind=network`: Phi from `fusion.weights`, else the shipped weights."""
    path = find_weights(config.fusion.weights, "fusion")
    if path is None:
        raise WeightsError("fusion.kind=network needs weights: set fusion.weights=PATH")
    return NetworkFusion.from_weights(path, config)
