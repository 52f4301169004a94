"""Sharpness against the real frame, and the mouth / eye boxes where expressions live.

High-frequency energy of an image region: the RMS of the 3x3 Laplacian of its luma (BT.601),
over a mask. `sharpness_ratio(output, real, mask)` = energy(output) / energy(real): 1.0 as sharp
as the real frame, < 1 softer (a Gaussian blur of sigma 2 gives ~0.2), > 1 noisier / harsher.
SSIM and PSNR reward blur; this does not.

Boxes are cut by the landmarks (crop pixels), padded, clipped to the image, at least 16 px a side.
"""

from __future__ import annotations

import cv2
import numpy as np

MOUTH = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
RIGHT_EYE = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
LEFT_EYE = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
MIN_SIDE = 16


def _luma(image: np.ndarray) -> np.ndarray:
    x = image.astype(np.float32)
    return x if x.ndim == 2 else x @ np.array([0.299, 0.587, 0.114], np.float32)


def hf_energy(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """RMS 3x3 Laplacian of the luma of (H, W, 3) or (H, W) uint8, over mask (H, W) bool."""
    lap = cv2.Laplacian(_luma(image), cv2.CV_32F, ksize=3)
    values = lap if mask is None else lap[np.asarray(mask, bool)]
    return float(np.sqrt(np.mean(values.astype(np.float64) ** 2))) if values.size else 0.0


def sharpness_ratio(output: np.ndarray, real: np.ndarray, mask: np.ndarray | None = None) -> float:
    """hf_energy(output) / hf_energy(real) over the same mask; NaN if the real one is flat."""
    reference = hf_energy(real, mask)
    return hf_energy(output, mask) / reference if reference > 1e-6 else float("nan")


def landmark_box(landmarks: np.ndarray, indices, size: int, *, pad: float) -> tuple[int, ...]:
    """(x0, y0, x1, y1) around landmarks[indices] (crop pixels), grown by `pad` x its larger
    side, clipped to [0, size], at least MIN_SIDE px a side."""
    p = np.asarray(landmarks, np.float64)[list(indices), :2]
    lo, hi = p.min(axis=0), p.max(axis=0)
    grow = pad * float((hi - lo).max())
    centre, half = 0.5 * (lo + hi), np.maximum(0.5 * (hi - lo) + grow, MIN_SIDE / 2)
    x0, y0 = np.clip(np.floor(centre - half), 0, size - MIN_SIDE).astype(int)
    x1, y1 = np.clip(np.ceil(centre + half), MIN_SIDE, size).astype(int)
    return int(x0), int(y0), int(x1), int(y1)


def mouth_box(landmarks: np.ndarray, size: int) -> tuple[int, ...]:
    """The lips' outer contour, padded by 20 %."""
    return landmark_box(landmarks, MOUTH, size, pad=0.2)


def eye_boxes(landmarks: np.ndarray, size: int) -> list[tuple[int, ...]]:
    """Each eye's contour (image-left eye first), padded by 30 % (lids and lashes)."""
    return [
        landmark_box(landmarks, RIGHT_EYE, size, pad=0.3),
        landmark_box(landmarks, LEFT_EYE, size, pad=0.3),
    ]


def box_mask(box: tuple[int, ...], shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool, True inside box (x0, y0, x1, y1)."""
    mask = np.zeros(shape, bool)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = True
    return mask
