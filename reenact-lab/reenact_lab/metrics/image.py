"""Image measures of the papers (docs PAPERS.md): SSIM, PSNR, L1, inter-frame SSIM.

Pure functions on numpy arrays, no I/O and no state. Images are `(H, W, 3)` RGB or `(H, W)`
grayscale `uint8` in [0, 255]; both images of a pair have the same shape. Landmark measures:
`reenact_lab.metrics.landmarks`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import cv2
import numpy as np

from reenact.errors import InputError

__all__ = [
    "ssim",
    "ssim_map",
    "psnr",
    "l1",
    "temporal_ssim",
]

# Wang et al. 2004: Gaussian window of 11 taps, sigma 1.5, K1 0.01, K2 0.03, data range 255.
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
DATA_RANGE = 255.0
_C1 = (0.01 * DATA_RANGE) ** 2
_C2 = (0.03 * DATA_RANGE) ** 2
_PAD = (SSIM_WINDOW - 1) // 2


# ----------------------------------------------------------------------------- images


def _check_pair(a: np.ndarray, b: np.ndarray, name: str) -> None:
    """Raise InputError unless `a` and `b` are uint8 images of one shape, (H,W) or (H,W,3)."""
    for image in (a, b):
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            got = getattr(image, "dtype", type(image).__name__)
            raise InputError(f"{name}: images must be uint8 numpy arrays, got {got}; convert first")
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
            raise InputError(f"{name}: images must be (H,W) or (H,W,3), got shape {image.shape}")
    if a.shape != b.shape:
        raise InputError(f"{name}: image shapes differ, {a.shape} vs {b.shape}; resize one first")


def _blur(x: np.ndarray) -> np.ndarray:
    """Gaussian window (11 taps, sigma 1.5) over the first two axes; float32 in, float32 out."""
    return cv2.GaussianBlur(
        x, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, sigmaY=SSIM_SIGMA, borderType=cv2.BORDER_REFLECT
    )


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of two images, averaged over colour channels.

    Args:
        a, b: (H, W, 3) or (H, W) uint8 in [0, 255], same shape; H and W at least 11.

    Returns:
        (H, W) float64 in [-1, 1] (computed in float32). The outer 5-pixel strip, where the
        window leaves the image, uses reflected borders; `ssim` leaves it out of the mean.
    """
    _check_pair(a, b, "ssim")
    if min(a.shape[:2]) < SSIM_WINDOW:
        raise InputError(f"ssim: images must be at least {SSIM_WINDOW} px a side, got {a.shape}")
    # float32 halves the time of float64; the cancellation in E[x^2] - mu^2 stays below 0.01
    # (values up to 255^2), far under C2 = 58.5, so SSIM moves by ~1e-6.
    x = a.astype(np.float32)
    y = b.astype(np.float32)
    mu_x, mu_y = _blur(x), _blur(y)
    # Population (biased) variances, as in Wang et al. (skimage's use_sample_covariance=False).
    var_x = _blur(x * x) - mu_x * mu_x
    var_y = _blur(y * y) - mu_y * mu_y
    cov_xy = _blur(x * y) - mu_x * mu_y
    numerator = (2.0 * mu_x * mu_y + _C1) * (2.0 * cov_xy + _C2)
    denominator = (mu_x * mu_x + mu_y * mu_y + _C1) * (var_x + var_y + _C2)
    s = (numerator / denominator).astype(np.float64)
    return s.mean(axis=2) if s.ndim == 3 else s


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Structural similarity (Wang et al. 2004) of two images; 1.0 for identical images.

    Gaussian window 11 taps, sigma 1.5, K1 0.01, K2 0.03, data range 255, population covariances.
    RGB images: SSIM of each channel, averaged over the three channels (the convention of
    `skimage.metrics.structural_similarity(channel_axis=-1, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255)`, which this matches to ~1e-6). No conversion to
    luma.

    Args:
        a, b: (H, W, 3) or (H, W) uint8 in [0, 255], same shape.
        mask: optional (H, W) bool (or 0/1) array; the mean is then taken over the masked pixels
            only (e.g. the face region). Without a mask, over all pixels at least 5 from the border.

    Returns:
        float in [-1, 1].
    """
    s = ssim_map(a, b)
    valid = np.zeros(s.shape, dtype=bool)
    valid[_PAD:-_PAD, _PAD:-_PAD] = True
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != s.shape:
            raise InputError(f"ssim: mask shape {mask.shape} differs from image shape {s.shape}")
        valid &= mask.astype(bool)
        if not valid.any():
            raise InputError("ssim: the mask selects no pixel (at least 5 px inside the border)")
    return float(s[valid].mean(dtype=np.float64))


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    diff = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB, data range 255; `math.inf` for identical images.

    Args:
        a, b: (H, W, 3) or (H, W) uint8 in [0, 255], same shape. The MSE is over all channels.
    """
    _check_pair(a, b, "psnr")
    mse = _mse(a, b)
    if mse == 0.0:
        return math.inf
    return float(10.0 * math.log10(DATA_RANGE * DATA_RANGE / mse))


def l1(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference in [0, 1] units (|a - b| / 255 averaged over pixels and channels).

    Args:
        a, b: (H, W, 3) or (H, W) uint8 in [0, 255], same shape.
    """
    _check_pair(a, b, "l1")
    diff = cv2.absdiff(a, b)
    return float(diff.mean(dtype=np.float64) / DATA_RANGE)


def temporal_ssim(frames: Iterable[np.ndarray]) -> tuple[float, list[float]]:
    """Inter-frame SSIM (PAPERS.md section 2: smooth video scores above 0.92).

    Args:
        frames: iterable of (H, W, 3) uint8 RGB frames of one size, at least two. Consumed once,
            holding only two frames at a time, so a generator over a long video is fine.

    Returns:
        (mean, per_pair): the mean SSIM of consecutive pairs and the list of the T-1 pair SSIMs.
    """
    per_pair: list[float] = []
    previous: np.ndarray | None = None
    for frame in frames:
        if previous is not None:
            per_pair.append(ssim(previous, frame))
        previous = frame
    if not per_pair:
        raise InputError("temporal_ssim: needs at least 2 frames; pass a longer clip")
    return float(np.mean(per_pair)), per_pair
