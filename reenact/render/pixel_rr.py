"""Pixel-based regression (PAPERS.md section 5, Akram & Khan): one expression class -> another.

Each output pixel p looks at one input pixel, the same p of the aligned crop:

    linear:    y_p = w_p x_p + b_p
    gaussian:  y_p = x_p + sum_k w_pk phi_k(x_p) + b_p,  phi_k(x) = exp(-(x - c_k)^2 / 2 s^2)

with x, y in [0, 1] (each colour channel alike; trained on luma), K centres c_k spread evenly
over [0, 1] and s their spacing. Both are ridge regressions solved in closed form per pixel from
aligned (neutral, expression) pairs. The ridge pulls towards the identity map (w_p = 1 for the
linear model, 0 for the kernel's residual), not towards 0: where the pairs do not agree the
output keeps the input's own pixel, which is what lets it carry over to paintings and animals.
The Gaussian variant is a kernel ridge regression on fixed centres (the feature space of a
Gaussian kernel sampled at K points), so its size does not grow with the training set.

One model per class, stored as fp16 safetensors: fitted and written by the lab
(`reenact_lab.train.pixel_rr`), read here by `load_pixel_rr`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from reenact.render import register_renderer

ARCH = "pixel_rr"
KINDS = ("linear", "gaussian")


def _centres(count: int) -> tuple[np.ndarray, float]:
    centres = np.linspace(0.0, 1.0, count)
    return centres, float(centres[1] - centres[0]) if count > 1 else 1.0


def gaussian_features(x: np.ndarray, count: int) -> np.ndarray:
    """x (...,) in [0,1] -> (..., count) float32 Gaussian features on evenly spread centres."""
    centres, width = _centres(count)
    return np.exp(-((x[..., None] - centres) ** 2) / (2 * width**2)).astype(np.float32)


@dataclass
class PixelRRModel:
    """A trained model: `weights` (S,S,F) float32 and `bias` (S,S) float32 at crop side S.

    linear: F = 1 (w_p); gaussian: F = `centres`. `expression` names the class it makes.
    """

    kind: str
    expression: str
    weights: np.ndarray
    bias: np.ndarray
    ridge: float
    pairs: int = 0

    def __post_init__(self) -> None:
        self.size = int(self.bias.shape[0])
        # per-pixel, per-channel float32 tables for OpenCV's vectorised arithmetic
        s = self.size
        self._offset = np.repeat(self.bias[..., None] * 255.0, 3, axis=2).astype(np.float32)
        self._acc = np.empty((s, s, 3), np.float32)
        if self.kind == "linear":
            self._scale = np.repeat(self.weights, 3, axis=2).astype(np.float32)
        else:  # the residual sum_k w_k phi_k(Y) on luma Y, phi_k looked up per uint8 value
            count = self.weights.shape[-1]
            self._lut = [
                np.ascontiguousarray(col.reshape(256, 1))
                for col in (gaussian_features(np.arange(256) / 255.0, count) * 255.0).T
            ]
            self._kernel_w = [np.ascontiguousarray(self.weights[..., k]) for k in range(count)]
            self._phi = np.empty((s, s), np.float32)
            self._residual = np.empty((s, s), np.float32)
            self._luma = np.empty((s, s), np.uint8)

    def apply(self, crop: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """crop (S,S,3) uint8 (aligned, RGB) -> (S,S,3) uint8 with the expression. linear: each
        colour channel through the same per-pixel map; gaussian: the kernel residual of the
        crop's luma added to each channel (exact on grey images). `out`: optional buffer."""
        if crop.shape != (self.size, self.size, 3) or crop.dtype != np.uint8:
            raise ValueError(
                f"pixel-rr model wants ({self.size},{self.size},3) uint8 crops, "
                f"got {crop.shape} {crop.dtype}"
            )
        acc = self._acc
        if self.kind == "linear":
            cv2.multiply(crop, self._scale, dst=acc, dtype=cv2.CV_32F)
        else:
            cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY, dst=self._luma)
            residual = self._residual
            residual.fill(0.0)
            for lut, weight in zip(self._lut, self._kernel_w):
                cv2.LUT(self._luma, lut, dst=self._phi)
                cv2.accumulateProduct(self._phi, weight, residual)
            cv2.add(crop, cv2.cvtColor(residual, cv2.COLOR_GRAY2RGB), dst=acc, dtype=cv2.CV_32F)
        if out is None:
            out = np.empty_like(crop)
        cv2.add(acc, self._offset, dst=out, dtype=cv2.CV_8U)  # rounds and saturates to 0..255
        return out


def load_pixel_rr(path: str | Path) -> PixelRRModel:
    """Load from safetensors only (`reenact.engine.arrays`, no torch); WeightsError names a bad
    file."""
    from reenact.engine.arrays import load_arrays
    from reenact.errors import WeightsError

    tensors, meta = load_arrays(path, expected={"arch": ARCH}, dtype=np.float32)
    kind = meta.get("kind", "")
    if kind not in KINDS or set(tensors) != {"weights", "bias"}:
        raise WeightsError(f"{path}: not a pixel-rr model (kind {kind!r}, keys {sorted(tensors)})")
    weights = tensors["weights"]
    bias = tensors["bias"]
    if not (np.isfinite(weights).all() and np.isfinite(bias).all()):
        raise WeightsError(f"{path}: pixel-rr weights contain NaN or inf; train again")
    return PixelRRModel(
        kind,
        meta.get("expression", ""),
        weights,
        bias,
        float(meta.get("ridge", "nan")),
        int(meta.get("pairs", "0")),
    )


MODELS_DIR = Path(__file__).resolve().parents[1] / "models"


def model_paths(folder: str | Path = "shipped", size: int = 256) -> dict[str, Path]:
    """{class: file} of the pixel-rr models in `folder` ("shipped" = reenact/models), at `size`."""
    root = MODELS_DIR if str(folder) == "shipped" else Path(folder)
    found = {}
    for path in sorted(root.glob(f"pixel_rr_*_{size}.safetensors")):
        found[path.name[len("pixel_rr_") : -len(f"_{size}.safetensors")]] = path
    return found


class PixelRRRenderer:
    """The renderer face of a pixel-rr model: the target's aligned crop with the class's
    expression, whatever the landmarks (the model sees pixels only).

    models: {class: PixelRRModel}; `expression` picks the class rendered (default: the first).
    Without models, loads every shipped one (`folder`)."""

    name = "pixel-rr"
    moves_face = False  # a fixed expression: the landmarks are unused
    shifts_colours = False

    def __init__(
        self,
        *,
        size: int = 256,
        models: dict | None = None,
        folder: str = "shipped",
        expression: str = "",
    ) -> None:
        self.size = int(size)
        if models is None:
            models = {c: load_pixel_rr(p) for c, p in model_paths(folder, self.size).items()}
        if not models:
            from reenact.errors import WeightsError

            raise WeightsError(
                f"pixel-rr: no models for {self.size}px in {folder}; run `reenact train pixel-rr`"
            )
        self.models = models
        self.expression = expression or next(iter(models))
        self._crop: np.ndarray | None = None
        self._out = np.empty((self.size, self.size, 3), np.uint8)

    def set_target(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        self._crop = np.ascontiguousarray(target_crop)

    def render(self, fused_landmarks: np.ndarray) -> np.ndarray:
        """(478,3) landmarks (unused) -> (S,S,3) uint8: the model of `expression` on the crop."""
        if self._crop is None:
            raise RuntimeError("PixelRRRenderer.render called before set_target")
        return self.models[self.expression].apply(self._crop, out=self._out)


@register_renderer("pixel-rr")
def build_pixel_rr(config) -> PixelRRRenderer:
    """`renderer.kind=pixel-rr`: the `pixel_rr.models` folder's model of `pixel_rr.expression`
    (a fixed expression whatever the actor does: for stills, presets and `reenact eval`)."""
    from reenact.errors import ConfigError

    renderer = PixelRRRenderer(
        size=config.renderer.size,
        folder=config.pixel_rr.models,
        expression=config.pixel_rr.expression,
    )
    if renderer.expression not in renderer.models:
        raise ConfigError(
            f"pixel_rr.expression: no '{renderer.expression}' model in "
            f"{config.pixel_rr.models}; have {', '.join(renderer.models)}"
        )
    return renderer
