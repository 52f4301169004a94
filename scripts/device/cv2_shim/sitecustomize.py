"""For `scripts/device/bench_gpu.sh` only: `cv2.ximgproc.guidedFilter` where the machine's OpenCV
has no contrib modules (the lent GPU machine has opencv-python-headless, and the contrib wheel
does not fit in what a device call carries).

The head region mattes the person once per target with it, never per frame, so the frame's
timings do not depend on it; this is the guided filter's box-filter form (He et al.), which is
what ximgproc computes for a one-channel guide. Put on PYTHONPATH by bench_gpu.sh only when
`cv2.ximgproc` is missing; never part of the product."""

from __future__ import annotations

import types

import cv2
import numpy as np


def guided_filter(guide, src, radius, eps, depth=-1):
    size = (2 * int(radius) + 1,) * 2

    def mean(x):
        return cv2.boxFilter(x, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)

    i, p = np.asarray(guide, np.float32), np.asarray(src, np.float32)
    mean_i, mean_p = mean(i), mean(p)
    a = (mean(i * p) - mean_i * mean_p) / (mean(i * i) - mean_i * mean_i + eps)
    b = mean_p - a * mean_i
    return mean(a) * i + mean(b)


if not hasattr(cv2, "ximgproc"):
    cv2.ximgproc = types.SimpleNamespace(guidedFilter=guided_filter)
