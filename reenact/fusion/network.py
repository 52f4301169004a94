"""Phi at run time: the landmark-fusion autoencoder behind the fuser interface.

    J_gen = L_t + intensity * (Phi(L_s, L_t) - Phi(N_s, L_t))

L_s: the actor's aligned landmarks; N_s: the actor's neutral; L_t: the target's neutral. Taking
the network's deviation relative to the one it gives for the actor's own neutral face makes the
actor's expression a deviation from *their* neutral: a neutral actor leaves the target neutral,
whatever identity geometry leaks through Phi.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from reenact.config import Config
from reenact.engine.shipped import find_weights
from reenact.engine.weights import load_into, load_weights
from reenact.errors import WeightsError
from reenact.fusion import register_fuser


class NetworkFusion:
    """`fuse(source, source_neutral, target_neutral, intensity) -> (478,3)` with Phi."""

    name = "network"

    def __init__(self, *, model, size: int, weights: Path | None = None) -> None:
        self.model = model.eval()
        self.weights = weights
        self.size = size
        self.dims = model.dims
        self._neutrals: tuple[np.ndarray, np.ndarray] | None = None
        self._neutral_dev: torch.Tensor | None = None

    @classmethod
    def from_weights(cls, path: Path, config: Config) -> NetworkFusion:
        from reenact.nn.fusion import LandmarkFusionAE

        _, meta = load_weights(path)
        if meta.get("arch") == "fusion_code":  # the shipped Phi: an expression-code autoencoder
            from reenact.fusion.coded import CodeFusion

            return CodeFusion.from_weights(path, config)
        if meta.get("arch") == "fusion_residual":  # a correction of the transfer (2026-11)
            from reenact.fusion.residual import ResidualNetworkFusion

            return ResidualNetworkFusion.from_weights(path, config)
        if meta.get("arch") != "fusion":
            raise WeightsError(f"{path}: holds '{meta.get('arch', '?')}' weights, expected fusion")
        try:
            model = LandmarkFusionAE(
                num_points=int(meta["num_points"]), dims=int(meta["dims"]),
                hidden=int(meta["hidden"]), code=int(meta["code"]),
            )
        except (KeyError, ValueError) as exc:
            raise WeightsError(f"{path}: incomplete fusion metadata ({exc})") from None
        load_into(model, path)
        return cls(model=model, size=config.renderer.size, weights=Path(path))

    def _unit(self, landmarks: np.ndarray) -> torch.Tensor:
        from reenact.nn.fusion import crop_to_unit

        t = torch.from_numpy(np.ascontiguousarray(landmarks[None, :, : self.dims], np.float32))
        return crop_to_unit(t, self.size)

    def _deviation(self, source: np.ndarray, target_unit: torch.Tensor) -> torch.Tensor:
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
        with torch.inference_mode():
            target_unit = self._unit(target_neutral)
            if not self._same_neutrals(source_neutral, target_neutral):
                self._neutral_dev = self._deviation(source_neutral, target_unit)
                self._neutrals = (source_neutral.copy(), target_neutral.copy())
            deviation = self._deviation(source, target_unit) - self._neutral_dev
        fused = target_neutral.astype(np.float32, copy=True)
        fused[:, : self.dims] += intensity * deviation[0].numpy() * (self.size / 2.0)
        return fused


@register_fuser("network")
def build_network(config: Config) -> NetworkFusion:
    """`fusion.kind=network`: Phi from `fusion.weights`, else the shipped weights."""
    path = find_weights(config.fusion.weights, "fusion")
    if path is None:
        raise WeightsError("fusion.kind=network needs weights: set fusion.weights=PATH")
    return NetworkFusion.from_weights(path, config)
