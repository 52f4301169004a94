"""HaarPSI, the Haar wavelet-based perceptual similarity index (Reisenhofer, Bosse, Kutyniok and
Wiegand, Signal Processing: Image Communication 61, 2018), for RGB or gray uint8 images.

Written from the paper because the maintained implementations (`piq`, `piqa`) import
torchvision, whose wheels here need a different torch than the pinned 2.13.0 CPU build; no
learned weights are involved. Checked against values of the authors' reference code in
tests/unit/test_metrics_quality.py.

Steps (paper section 3, with its constants C = 30, alpha = 4.2):
1. RGB -> YIQ; each channel 2x2-mean filtered and subsampled by 2 (viewing distance);
2. Haar filters on Y at scales 1..3, horizontal and vertical (2^j x 2^j, -1 above / +1 below);
3. local similarity per orientation: mean over scales 1, 2 of (2|a||b| + C) / (a^2 + b^2 + C);
   for colour, a third map from the 2x2-mean-filtered |I| and |Q| (mean of their similarities);
4. weights: max(|a|, |b|) of the scale-3 coefficients (colour map: mean of the two);
5. score = (logit_alpha(sum sigmoid_alpha(S) W / sum W))^2, in [0, 1], 1 for identical images.
Convolutions follow MATLAB's conv2 'same' (zero padding; for an even kernel of side k the output
starts k/2 rows and columns into the full convolution), as the reference code does.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import convolve2d

C = 30.0
ALPHA = 4.2
SCALES = 3


def _conv_same(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    full = convolve2d(image, kernel, mode="full")
    top, left = kernel.shape[0] // 2, kernel.shape[1] // 2
    return full[top : top + image.shape[0], left : left + image.shape[1]]


def _subsample(image: np.ndarray) -> np.ndarray:
    return _conv_same(image, np.full((2, 2), 0.25))[::2, ::2]


def _haar(image: np.ndarray) -> list[np.ndarray]:
    """[horizontal scale 1..3, vertical scale 1..3] coefficients, each like `image`."""
    horizontal, vertical = [], []
    for scale in range(1, SCALES + 1):
        side = 2**scale
        kernel = np.full((side, side), 2.0**-scale)
        kernel[: side // 2] *= -1.0
        horizontal.append(_conv_same(image, kernel))
        vertical.append(_conv_same(image, kernel.T))
    return horizontal + vertical


def _similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (2.0 * a * b + C) / (a * a + b * b + C)


def _channels(image: np.ndarray) -> list[np.ndarray]:
    x = image.astype(np.float64)
    if x.ndim == 2:
        return [x]
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    return [
        0.299 * r + 0.587 * g + 0.114 * b,
        0.596 * r - 0.274 * g - 0.322 * b,
        0.211 * r - 0.523 * g + 0.312 * b,
    ]


def haarpsi(reference: np.ndarray, distorted: np.ndarray) -> float:
    """HaarPSI of two images of one shape: (H, W, 3) RGB or (H, W) gray, uint8 in [0, 255],
    H and W at least 16. Returns a float in [0, 1] (1 = identical)."""
    if reference.shape != distorted.shape or reference.ndim not in (2, 3):
        raise ValueError(
            f"haarpsi: shapes {reference.shape} and {distorted.shape} must be "
            "equal, (H,W) or (H,W,3)"
        )
    if min(reference.shape[:2]) < 16:
        raise ValueError(f"haarpsi: images must be at least 16 px a side, got {reference.shape}")
    ref = [_subsample(c) for c in _channels(reference)]
    dis = [_subsample(c) for c in _channels(distorted)]
    coef_r, coef_d = _haar(ref[0]), _haar(dis[0])
    sims, weights = [], []
    for o in range(2):
        base = o * SCALES
        weights.append(np.maximum(np.abs(coef_r[base + 2]), np.abs(coef_d[base + 2])))
        sims.append(
            0.5
            * sum(_similarity(np.abs(coef_r[base + j]), np.abs(coef_d[base + j])) for j in range(2))
        )
    if len(ref) == 3:
        mean = np.full((2, 2), 0.25)
        colour = [
            _similarity(np.abs(_conv_same(ref[c], mean)), np.abs(_conv_same(dis[c], mean)))
            for c in (1, 2)
        ]
        sims.append(0.5 * (colour[0] + colour[1]))
        weights.append(0.5 * (weights[0] + weights[1]))
    s, w = np.stack(sims), np.stack(weights)
    total = float(w.sum())
    if total <= 0.0:  # two flat images: nothing to tell them apart by
        return 1.0
    pooled = float((w / (1.0 + np.exp(-ALPHA * s))).sum() / total)
    pooled = min(max(pooled, 1e-12), 1.0 - 1e-12)
    return float((math.log(pooled / (1.0 - pooled)) / ALPHA) ** 2)
