"""Small helpers the warp's painters share (eyes, irises, lids, mouth): boxes, anti-aliased masks,
the rows of an opening between two moving edges and how far an eye's dark lines reach.

They run a few times a frame on a few dozen points, so they use Python scalars where numpy's
per-call overhead would cost more than the arithmetic.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

SHIFT = 4  # cv2.fillPoly sub-pixel bits


def pad_box(poly: np.ndarray, before: int, after: int, size: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) ints: floor(min) - before .. ceil(max) + after of (K,2) points, clamped
    to [0, size]."""
    lo, hi = poly.min(axis=0).tolist(), poly.max(axis=0).tolist()
    return (
        max(math.floor(lo[0]) - before, 0),
        max(math.floor(lo[1]) - before, 0),
        min(math.ceil(hi[0]) + after, size),
        min(math.ceil(hi[1]) + after, size),
    )


def fill_aa(mask: np.ndarray, poly: np.ndarray, origin: tuple[int, int]) -> None:
    """Rasterise (K,2) float32 `poly` minus integer `origin` into uint8 `mask` (255 inside),
    anti-aliased with 1/16 px vertices."""
    pts = np.round((poly - origin) * (1 << SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=SHIFT)


def clip01(x: np.ndarray) -> np.ndarray:
    """x clipped to [0, 1]: np.clip's values, without its call overhead."""
    return np.minimum(np.maximum(x, 0.0), 1.0)


def mean32(x: np.ndarray) -> float:
    """float(x.mean()) of a float32 array, bit for bit, without np.mean's call overhead."""
    return float(np.float32(float(x.sum()) / x.size))


def mean_rows(x: np.ndarray) -> np.ndarray:
    """x.mean(axis=0) of a (K,C) float32 array, bit for bit: (C,) float32."""
    return np.add.reduce(x, axis=0) / x.shape[0]


def band_rows(
    ys: np.ndarray,
    up_f: np.ndarray,
    lo_f: np.ndarray,
    up_t: np.ndarray,
    lo_t: np.ndarray,
    bands: tuple[float, float],
) -> np.ndarray:
    """The target row (crop y) each fused row ys (h,1) samples inside an opening between an
    upper and a lower edge (lids, inner lips), per column: (h,w) float32.

    up_f, lo_f: the fused edges' y per column (w,); up_t, lo_t: the target's at the same columns.
    An opening no wider than the target's is squashed between the edges. A wider one keeps the
    rows under the upper edge and over the lower one at their own scale (`bands`: shares of the
    target's gap) and stretches only the rows between them.
    """
    gap_t = np.maximum(lo_t - up_t, 0.5)
    gap_f = np.maximum(lo_f - up_f, 0.5)
    d = ys - up_f
    squash = up_t + d * (gap_t / gap_f)
    top, bottom = bands[0] * gap_t, bands[1] * gap_t
    middle = (d - top) * ((gap_t - top - bottom) / np.maximum(gap_f - top - bottom, 0.5))
    wide = np.where(
        d < top, up_t + d, np.where(d > gap_f - bottom, lo_t - (gap_f - d), up_t + top + middle)
    )
    return np.where(gap_f > gap_t, wide, squash).astype(np.float32)


def soft_rgb(crop: np.ndarray) -> np.ndarray:
    """(S,S,3) float32: the crop (S,S,3) uint8 box-blurred over 3 px, what `edge_band` reads."""
    return cv2.blur(crop, (3, 3)).astype(np.float32)


def edge_band(rgb: np.ndarray, points: np.ndarray, direction, most: float) -> np.ndarray:
    """How far (px, (K,) float32) a target's eye (lash line, lid line, white) reaches from each
    of `points` (K,2) along unit `direction`, within `most` px: the end of the first run of
    samples whose colour is more than 20 % off the skin's (the median of the run's outer half);
    rgb: (S,S,3) float32 0..255; 0 where there is no such run."""
    steps = np.arange(0.0, most, 0.5, dtype=np.float32)
    xy = points[:, None, :] + steps[None, :, None] * np.asarray(direction, np.float32)
    ij = np.clip(np.round(xy).astype(int), 0, rgb.shape[0] - 1)
    run = rgb[ij[..., 1], ij[..., 0]]  # (K, n, 3)
    skin = np.median(run[:, len(steps) // 2 :], axis=1, keepdims=True)
    off = np.linalg.norm(run - skin, axis=2) > 0.2 * np.linalg.norm(skin, axis=2)
    band = np.zeros(len(points), np.float32)
    for k, row in enumerate(off):
        first = int(np.argmax(row))
        if row[first]:
            rest = row[first:]
            end = int(np.argmin(rest)) if not rest.all() else len(rest) - 1
            band[k] = steps[first + end]
    return band
