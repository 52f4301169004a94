"""The one-channel landmark image J_gen that conditions the generator.

The mesh contours - outer and inner lips, eyes, brows, irises, face oval and nose - are drawn as
anti-aliased polylines of value 255 on black, at sub-pixel precision (cv2 `shift`), 1 px thick
at 256 and 2 px at 512. The same function draws the training images and the live ones.
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.landmarks.regions import CONTOURS

_SHIFT = 4  # fractional bits for cv2 drawing: 1/16 px precision
_ALL = np.concatenate(CONTOURS)
_SPLITS = np.cumsum([len(c) for c in CONTOURS])[:-1]


def line_thickness(size: int) -> int:
    """Polyline thickness for a crop of side `size`: 1 px at 256, 2 px at 512."""
    return max(1, round(size / 256))


def draw_landmark_image(
    landmarks_crop: np.ndarray, size: int, *, out: np.ndarray | None = None
) -> np.ndarray:
    """Draw the landmark image of a face in aligned crop coordinates.

    landmarks_crop: (478,2|3) float, crop pixels (z ignored). size: crop side.
    out: optional C-contiguous (size,size) uint8 buffer to draw into (cleared first).
    Returns (size,size) uint8 in {0..255}: contours 255 on 0, anti-aliased edges in between.
    """
    if out is None:
        out = np.zeros((size, size), dtype=np.uint8)
    else:
        if out.shape != (size, size) or out.dtype != np.uint8:
            raise ValueError(f"out must be ({size},{size}) uint8, got {out.shape} {out.dtype}")
        out.fill(0)
    points = np.asarray(landmarks_crop)[_ALL, :2]
    fixed = np.rint(points * (1 << _SHIFT)).astype(np.int32)
    polylines = np.split(fixed, _SPLITS)
    cv2.polylines(
        out,
        polylines,
        False,
        255,
        thickness=line_thickness(size),
        lineType=cv2.LINE_AA,
        shift=_SHIFT,
    )
    return out
