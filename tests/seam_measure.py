"""A unit-level seam measure for the compositor's tests (the eval's `seam` column is the product
measure; this one needs no eval run).

seam(out, frame, alpha): on the band where the paste mask's alpha is in (0.05, 0.95) (the feather
ring, where the paste meets the real frame), the mean absolute colour step |G_2 * (out - frame)|
(Gaussian sigma 2: local brightness and colour, not texture) plus the mean absolute step in
gradient magnitude | |grad out| - |grad frame| | (grey, Sobel / 8), in 8-bit levels. 0 for the
real frame pasted onto itself.
"""

from __future__ import annotations

import cv2
import numpy as np


def seam(out: np.ndarray, frame: np.ndarray, box: tuple[int, int, int, int],
         alpha: np.ndarray) -> float:
    """out, frame: (H,W,3) uint8; box (x0,y0,x1,y1) and alpha (h,w) in [0,1] of the paste."""
    x0, y0, x1, y1 = box
    a = out[y0:y1, x0:x1].astype(np.float32)
    b = frame[y0:y1, x0:x1].astype(np.float32)
    band = (alpha > 0.05) & (alpha < 0.95)
    colour = np.abs(cv2.GaussianBlur(a - b, (0, 0), 2.0)).mean(axis=2)
    grads = []
    for image in (a, b):
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
        grads.append(np.hypot(gx, gy) / 8.0)
    gradient = np.abs(grads[0] - grads[1])
    return float(colour[band].mean() + gradient[band].mean())
