"""Temporal smoothing: the One Euro filter on landmarks, and an optional blend of rendered crops.

One Euro filter (Casiez, Roussel and Vogel, CHI 2012): a first-order low-pass whose cutoff rises
with the signal's speed, so it removes jitter when still and adds little lag when moving:

    alpha(fc, dt) = 1 / (1 + 1 / (2 pi fc dt))
    dx_hat = lowpass(dx/dt, alpha(d_cutoff))             (speed, smoothed)
    fc     = min_cutoff + beta * |dx_hat|                 (per coordinate)
    x_hat  = lowpass(x, alpha(fc))

Units: min_cutoff and d_cutoff in Hz; beta in 1/(unit of x): with landmarks in pixels, a speed of
100 px/s raises the cutoff by 100 * beta Hz.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

DEFAULT_DT_S = 1.0 / 30.0


def _alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    """Smoothing factor of an exponential low-pass with that cutoff, at that sample interval."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """One Euro filter over an array of any shape, every element filtered independently.

    min_cutoff: Hz, the cutoff when still (lower = less jitter, more lag).
    beta: speed coefficient (higher = less lag when moving).
    d_cutoff: Hz, cutoff of the speed estimate.

    Timestamps that do not increase (repeated, or going back) are treated as one nominal frame
    interval (the last positive interval seen, else 1/30 s): the sample is still used and nothing
    divides by zero. A change of shape restarts the filter.
    """

    def __init__(
        self, *, min_cutoff: float = 1.5, beta: float = 0.3, d_cutoff: float = 1.0
    ) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError(
                f"OneEuroFilter needs min_cutoff > 0, d_cutoff > 0, beta >= 0; "
                f"got {min_cutoff}, {d_cutoff}, {beta}"
            )
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float = 0.0
        self._dt: float = DEFAULT_DT_S

    def reset(self) -> None:
        """Forget the past: the next sample passes through unchanged."""
        self._x = None
        self._dx = None
        self._dt = DEFAULT_DT_S

    def filter(self, x: np.ndarray, t_s: float) -> np.ndarray:
        """Filter one sample taken at time `t_s` (seconds).

        x: array of any shape (e.g. landmarks (478,3) float32 pixels). Returns a new array of
        the same shape and dtype (float64 input stays float64, anything else becomes float32).
        """
        x = np.asarray(x)
        dtype = np.float64 if x.dtype == np.float64 else np.float32
        if self._x is None or self._x.shape != x.shape:
            self._x = x.astype(np.float64)
            self._dx = np.zeros(x.shape, dtype=np.float64)
            self._t = float(t_s) if math.isfinite(t_s) else 0.0
            return self._x.astype(dtype)
        dt = float(t_s) - self._t
        if dt > 0.0 and math.isfinite(dt):
            self._dt = dt
        else:
            dt = self._dt
        self._t = float(t_s) if math.isfinite(t_s) else self._t + dt
        speed = (x - self._x) / dt
        self._dx += _alpha(self.d_cutoff, dt) * (speed - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        self._x += _alpha(cutoff, dt) * (x - self._x)
        return self._x.astype(dtype)


class CropBlender:
    """Exponential temporal blend of rendered crops: out = w * previous + (1 - w) * new.

    weight: w in [0, 1); 0 passes frames through. Keeps one float32 accumulator and one uint8
    output buffer per frame shape: no allocation per frame. The returned array is that buffer,
    overwritten by the next call: copy it to keep it.
    """

    def __init__(self, weight: float) -> None:
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"CropBlender weight must be in [0, 1), got {weight}")
        self.weight = float(weight)
        self._acc: np.ndarray | None = None
        self._out: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the previous crop: the next one passes through."""
        self._acc = None

    def blend(self, crop: np.ndarray) -> np.ndarray:
        """crop: (H,W,3) uint8. Returns (H,W,3) uint8, the blended crop (an internal buffer)."""
        if self.weight == 0.0:
            return crop
        if self._acc is None or self._acc.shape != crop.shape:
            self._acc = crop.astype(np.float32)
            self._out = np.empty(crop.shape, dtype=np.uint8)
        else:
            cv2.accumulateWeighted(crop, self._acc, 1.0 - self.weight)
        cv2.convertScaleAbs(self._acc, dst=self._out)
        return self._out
