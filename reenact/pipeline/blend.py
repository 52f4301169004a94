"""Hiding the paste of a rendered crop: a low-frequency colour match and a multi-band blend.

Both work in crop space (S x S, the aligned crop), before the crop is warped into the frame, so
their cost does not grow with the frame or the face's size there.

`LowFrequencyMatch` brings the rendered crop's colour and brightness to the target's over the
whole face, without touching detail. At a low resolution (LOWFREQ_SIDE) it measures the target T and
the render R on a ring at the face's edge (where the paste meets the real frame) and on the skin
inside it (weights w, `match_weight`), and spreads their ratio over the crop by normalised
convolution with a wide Gaussian G:

    gain = (G*(w T) + e) / (G*(w R) + e)      per channel, clamped to [1/GAIN_LIMIT, GAIN_LIMIT]
    R'   = R * upsample(gain)

The gain is smooth by construction, and the eyes, brows and mouth do not feed it: an open mouth,
teeth or closed eyes in the render (which the target lacks) do not pull the face's colour
towards the target's.

`MultiBandBlend` is Burt and Adelson's Laplacian-pyramid blend of the render into the target
crop: each frequency band is blended with a mask blurred to that band's scale (fine detail
switches over a few pixels, brightness over tens), so neither a step nor a soft halo shows.
Because the blend is linear, it is computed on the difference D = R' - T:

    out = T + collapse_l( m_l * Laplacian_l(D) )      m_l: Gaussian pyramid of the mask

Buffers live in a `Workspace` shared by every compositor of one crop side (a target video has a
compositor per frame): allocated once per stream shape, never per frame.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import cv2
import numpy as np

LOWFREQ_SIDE = 32  # the colour gain is measured and smoothed at this side
LOWFREQ_SIGMA = 0.12  # x LOWFREQ_SIDE: the Gaussian that spreads the ring's gain inwards
GAIN_LIMIT = 2.0  # the gain stays in [1/2, 2]
_EPS = 2.0  # (levels x weight) added to both sums: a dark ring gives a gain near 1, not noise
SKIN_WEIGHT = 0.5  # the face's skin counts this much in the colour match (the ring: 1)
EYE_GROW, MOUTH_GROW = 0.04, 0.10  # x crop side: the features left out of the skin
BLEND_LEVELS = 4  # pyramid levels: 256 -> 128 -> 64 -> 32
BLENDS = ("auto", "multiband", "feather")
COLOURS = ("lowfreq", "stats")


def compositor_options(config: Any) -> dict[str, Any]:
    """`Compositor` keyword arguments from `config.compose` (ConfigError naming a bad key)."""
    from reenact.errors import ConfigError

    s = config.compose
    if s.blend not in BLENDS:
        raise ConfigError(f"compose.blend: '{s.blend}' is not one of {', '.join(BLENDS)}")
    if s.colour_match not in COLOURS:
        raise ConfigError(
            f"compose.colour_match: '{s.colour_match}' is not one of {', '.join(COLOURS)}"
        )
    return {"blend": s.blend, "colour": s.colour_match, "detail": s.detail}


class Workspace:
    """Per-frame buffers for one crop side `size`; see `workspace`."""

    def __init__(self, size: int, levels: int) -> None:
        side = LOWFREQ_SIDE
        self.small = np.empty((side, side, 3), np.uint8)
        self.small_f = np.empty((side, side, 3), np.float32)
        self.blurred = np.empty((side, side, 3), np.float32)
        self.gain = np.empty((size, size, 3), np.float32)
        self.scaled = np.empty((size, size, 3), np.float32)
        sides = [size >> level for level in range(levels)]
        self.gauss = [np.empty((s, s, 3), np.float32) for s in sides]
        self.up = [np.empty((s, s, 3), np.float32) for s in sides]
        self.out = np.empty((size, size, 3), np.uint8)


@lru_cache(maxsize=4)
def workspace(size: int, levels: int = BLEND_LEVELS) -> Workspace:
    """The shared buffers for crops of side `size` (one set per side, reused every frame)."""
    return Workspace(size, levels)


def ring_weight(mask: np.ndarray) -> np.ndarray:
    """(S,S) float32: 4 m (1 - m) of a feathered mask m in [0,1]: 1 mid-feather, 0 off it."""
    m = np.asarray(mask, np.float32)
    return 4.0 * m * (1.0 - m)


def _feature_mask(landmarks_crop: np.ndarray, size: int) -> np.ndarray:
    """(S,S) float32: 1 on the eyes, brows and mouth (grown: an opening mouth, a raised brow)."""
    from reenact.landmarks.regions import REGIONS

    out = np.zeros((size, size), np.uint8)
    xy = np.asarray(landmarks_crop, np.float32)[:, :2]
    for names, grow in (
        ((("left_eye", "left_brow"), ("right_eye", "right_brow")), EYE_GROW),
        ((("lips_outer",),), MOUTH_GROW),
    ):
        for group in names:
            part = np.zeros_like(out)
            points = np.concatenate([xy[REGIONS[name]] for name in group])
            cv2.fillConvexPoly(part, cv2.convexHull(points.round().astype(np.int32)), 255)
            radius = max(1, int(round(grow * size)))
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
            out |= cv2.dilate(part, kernel)
    return out.astype(np.float32) / 255.0


def match_weight(mask: np.ndarray, landmarks_crop: np.ndarray) -> np.ndarray:
    """(S,S) float32 weights of `LowFrequencyMatch`: the feather ring (`ring_weight`), where the
    paste meets the frame, plus the skin inside it (the mask's core minus the eyes, brows and
    mouth, whose colours an expression changes), at SKIN_WEIGHT."""
    size = mask.shape[0]
    skin = (mask >= 0.95).astype(np.float32) * (1.0 - _feature_mask(landmarks_crop, size))
    return ring_weight(mask) + SKIN_WEIGHT * skin


class LowFrequencyMatch:
    """Per target: its crop's low-resolution ring statistics. `apply(crop)` returns the crop with
    the target's colour and brightness, as the module docstring says.

    target_crop: (S,S,3) uint8; ring: (S,S) float32 weights >= 0 (see `match_weight`).
    """

    def __init__(self, *, target_crop: np.ndarray, ring: np.ndarray) -> None:
        side = LOWFREQ_SIDE
        self.size = int(target_crop.shape[0])
        self.sigma = LOWFREQ_SIGMA * side
        small_target = cv2.resize(target_crop, (side, side), interpolation=cv2.INTER_AREA)
        weight = cv2.resize(ring.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA)
        self._weight = np.repeat(weight[..., None], 3, axis=2)
        self._eps = np.float32(_EPS * max(float(self._blur(self._weight).max()), 1e-6))
        self._target_sum = self._blur(self._weight * small_target.astype(np.float32)) + self._eps

    def _blur(self, image: np.ndarray, dst: np.ndarray | None = None) -> np.ndarray:
        return cv2.GaussianBlur(image, (0, 0), self.sigma, dst=dst, borderType=cv2.BORDER_REFLECT)

    def gain(self, crop: np.ndarray, ws: Workspace) -> np.ndarray:
        """(S,S,3) float32 per-pixel gain that takes `crop` to the target's colours."""
        side = LOWFREQ_SIDE
        cv2.resize(crop, (side, side), dst=ws.small, interpolation=cv2.INTER_AREA)
        np.multiply(ws.small, self._weight, out=ws.small_f)
        self._blur(ws.small_f, dst=ws.blurred)
        ws.blurred += self._eps
        np.divide(self._target_sum, ws.blurred, out=ws.blurred)
        np.clip(ws.blurred, 1.0 / GAIN_LIMIT, GAIN_LIMIT, out=ws.blurred)
        return cv2.resize(
            ws.blurred, (self.size, self.size), dst=ws.gain, interpolation=cv2.INTER_LINEAR
        )

    def apply(self, crop: np.ndarray, ws: Workspace | None = None) -> np.ndarray:
        """(S,S,3) uint8 -> (S,S,3) float32 (not rounded: the blend takes it as it is)."""
        ws = ws or workspace(self.size)
        np.multiply(crop, self.gain(crop, ws), out=ws.scaled)
        return ws.scaled


def mask_pyramid(mask: np.ndarray, levels: int = BLEND_LEVELS) -> list[np.ndarray]:
    """Gaussian pyramid of a (S,S) float32 mask in [0,1]: `levels` arrays (S/2^l, S/2^l)."""
    pyramid = [np.ascontiguousarray(mask, np.float32)]
    for _ in range(levels - 1):
        pyramid.append(cv2.pyrDown(pyramid[-1]))
    return pyramid


class MultiBandBlend:
    """Per target: its crop and the blend mask's pyramid. `apply(render)` blends a render into
    the target crop band by band (module docstring) and returns (S,S,3) uint8, a buffer of the
    shared workspace that the next call overwrites.

    target_crop: (S,S,3) uint8; mask: (S,S) float32 in [0,1], 1 where the render is kept.
    """

    def __init__(
        self, *, target_crop: np.ndarray, mask: np.ndarray, levels: int = BLEND_LEVELS
    ) -> None:
        self.size = int(target_crop.shape[0])
        if self.size % (1 << (levels - 1)):
            raise ValueError(f"crop side {self.size} is not divisible by 2^{levels - 1}")
        self.levels = levels
        self.target = target_crop
        self.masks = mask_pyramid(mask, levels)
        # 3-channel copies, made once per target (numpy's broadcast multiply is ~20x slower)
        self.masks3 = [cv2.cvtColor(m, cv2.COLOR_GRAY2RGB) for m in self.masks]

    def apply(self, render: np.ndarray, ws: Workspace | None = None) -> np.ndarray:
        """render: (S,S,3) uint8 or float32 (0..255) -> (S,S,3) uint8."""
        ws = ws or workspace(self.size, self.levels)
        gauss, up = ws.gauss, ws.up
        np.subtract(render, self.target, out=gauss[0], dtype=np.float32)
        for level in range(1, self.levels):
            cv2.pyrDown(gauss[level - 1], dst=gauss[level])
        for level in range(self.levels - 1):  # g_l -> the Laplacian band g_l - up(g_{l+1})
            cv2.pyrUp(gauss[level + 1], dst=up[level])
            gauss[level] -= up[level]
        # collapse from the coarsest band: r = m_L g_L; then r = up(r) + m_l band_l
        masks = self.masks3
        gauss[-1] *= masks[-1]
        for level in range(self.levels - 2, -1, -1):
            cv2.pyrUp(gauss[level + 1], dst=up[level])
            gauss[level] *= masks[level]
            gauss[level] += up[level]
        # T + the blended difference, rounded and saturated to uint8 in one pass
        cv2.add(gauss[0], self.target, dst=ws.out, dtype=cv2.CV_8U)
        return ws.out
