"""The small fusion networks' forward passes in numpy, so the CPU runtime needs no torch.

The lab's `reenact_lab.nn.fusion` and `reenact_lab.nn.fusion_residual` define and train them in
torch; their weights (`reenact.engine.arrays.load_arrays`) run here with the same arithmetic:
linear layers with LeakyReLU(0.2) between them (`reenact_lab.nn.fusion.mlp`'s layout, a Linear
at every even index). `tests/unit/test_fusion_numpy.py` compares each with its torch module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from reenact.engine.arrays import check_arrays

LEAK = np.float32(0.2)
INPUT_GAIN = 10.0  # as the lab's fusion_residual.INPUT_GAIN (the weights were trained with it)


def mlp_shapes(prefix: str, sizes: list[int]) -> dict[str, tuple[int, ...]]:
    """The state-dict keys and shapes of `reenact_lab.nn.fusion.mlp(sizes)` under `prefix`."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        shapes[f"{prefix}.{2 * i}.weight"] = (n_out, n_in)
        shapes[f"{prefix}.{2 * i}.bias"] = (n_out,)
    return shapes


class Mlp:
    """`reenact_lab.nn.fusion.mlp` from its weights: `(B, n_in) float32 -> (B, n_out)`."""

    def __init__(self, arrays: Mapping[str, np.ndarray], prefix: str, layers: int) -> None:
        self.layers = [
            (
                np.ascontiguousarray(arrays[f"{prefix}.{2 * i}.weight"].T, np.float32),
                np.asarray(arrays[f"{prefix}.{2 * i}.bias"], np.float32),
            )
            for i in range(layers)
        ]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        for i, (weight, bias) in enumerate(self.layers):
            if i:
                x = np.where(x >= 0, x, x * LEAK)
            x = x @ weight + bias
        return x


class FusionAE:
    """`reenact_lab.nn.fusion.LandmarkFusionAE` in numpy: `(source, target) -> deviation`, each
    (B, P, dims) unit crop coordinates."""

    def __init__(
        self,
        arrays: Mapping[str, np.ndarray],
        *,
        num_points: int,
        dims: int,
        hidden: int,
        code: int,
        path: str | Path = "fusion weights",
    ) -> None:
        flat = num_points * dims
        check_arrays(
            path,
            "LandmarkFusionAE",
            arrays,
            {
                **mlp_shapes("enc_source", [flat, hidden, hidden, code]),
                **mlp_shapes("enc_target", [flat, hidden, hidden, code]),
                **mlp_shapes("decoder", [2 * code, hidden, hidden, flat]),
            },
        )
        self.num_points, self.dims = num_points, dims
        self.enc_source = Mlp(arrays, "enc_source", 3)
        self.enc_target = Mlp(arrays, "enc_target", 3)
        self.decoder = Mlp(arrays, "decoder", 3)

    def __call__(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        batch = source.shape[0]
        codes = np.concatenate(
            [
                self.enc_source(source.reshape(batch, -1)),
                self.enc_target(target.reshape(batch, -1)),
            ],
            axis=1,
        )
        return self.decoder(codes).reshape(-1, self.num_points, self.dims)


class ResidualRealisation:
    """`reenact_lab.nn.fusion_residual.ResidualFusion`'s parts in numpy: `basis` (V,
    (k, P*dims)) and `realisation(geometry)`, U(G): (B, P, dims) unit coordinates ->
    (B, k, P*dims)."""

    def __init__(
        self,
        arrays: Mapping[str, np.ndarray],
        *,
        num_points: int,
        dims: int,
        hidden: int,
        code: int,
        basis: int,
        path: str | Path = "fusion weights",
    ) -> None:
        flat = num_points * dims
        check_arrays(
            path,
            "ResidualFusion",
            arrays,
            {
                "mean_face": (num_points, dims),
                "enc_source.weight": (basis, flat),
                **mlp_shapes("enc_target", [flat, hidden, code]),
                **mlp_shapes("decoder", [code, hidden, basis * flat]),
            },
        )
        self.num_points, self.dims, self.k = num_points, dims, basis
        self.mean_face = np.asarray(arrays["mean_face"], np.float32)
        self.basis = np.asarray(arrays["enc_source.weight"], np.float32)
        self.enc_target = Mlp(arrays, "enc_target", 2)
        self.decoder = Mlp(arrays, "decoder", 2)

    def realisation(self, geometry: np.ndarray) -> np.ndarray:
        batch = geometry.shape[0]
        centred = (np.asarray(geometry, np.float32) - self.mean_face).reshape(batch, -1)
        code = self.enc_target(centred * np.float32(INPUT_GAIN))
        return self.decoder(code).reshape(-1, self.k, self.num_points * self.dims)
