"""Temporal smoothing of landmarks: the One Euro filter, opened by the face's own moves.

(The blend of rendered crops over time is pixels: `reenact.pipeline.compose.CropBlender`.)

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

import numpy as np

from reenact.landmarks.expressiveness import BROW_POINTS, JAW, MOUTH_CORNERS
from reenact.landmarks.head_pose import IRIS_CENTRES, eye_corners
from reenact.landmarks.regions import REGIONS

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

    def interval(self, x: np.ndarray, t_s: float) -> float | None:
        """The time step (s) that `filter(x, t_s)` will use, or None when it will restart (the
        first sample, or a new shape) and pass `x` through."""
        if self._x is None or self._x.shape != np.shape(x):
            return None
        dt = float(t_s) - self._t
        return dt if dt > 0.0 and math.isfinite(dt) else self._dt

    def filter(self, x: np.ndarray, t_s: float, *, floor: np.ndarray | float = 0.0) -> np.ndarray:
        """Filter one sample taken at time `t_s` (seconds).

        x: array of any shape (e.g. landmarks (478,3) float32 pixels). Returns a new array of
        the same shape and dtype (float64 input stays float64, anything else becomes float32).
        floor: Hz added to min_cutoff where it is more than beta x the speed (broadcast to x;
        `LandmarkSmoother`'s moves of the face).
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
        cutoff = self.min_cutoff + np.maximum(self.beta * np.abs(self._dx), floor)
        self._x += _alpha(cutoff, dt) * (x - self._x)
        return self._x.astype(dtype)


# LandmarkSmoother's groups: (478,3) points whose cut-off follows one of the face's own moves.
# The moves are read in crop pixels from the frame's landmarks (`_moves`): the mouth's opening
# and width, each eye's lid gap, each brow's height (the expression features of
# `reenact.landmarks.expressiveness`, times the inter-ocular distance), each iris's place in its
# eye (both axes, times the eye's width) and the head's turn and nod (the nose tip against the
# eyes' outer corners).
# the mouth and jaw's points (the lips and the lower face oval)
MOUTH_POINTS = np.unique(np.r_[REGIONS["lips_outer"], REGIONS["lips_inner"], JAW])
# (points, indices into _moves of the moves they follow): the mouth and jaw, each eye's lids,
# each iris (its lids and its own gaze), each brow
_GROUPS = tuple(
    (points, np.array(moves_of))
    for points, moves_of in (
        (MOUTH_POINTS, (0, 1)),
        (REGIONS["left_eye"], (2,)),
        (REGIONS["right_eye"], (3,)),
        (REGIONS["left_iris"], (2, 8, 9)),
        (REGIONS["right_iris"], (3, 6, 7)),
        (REGIONS["left_brow"], (4,)),
        (REGIONS["right_brow"], (5,)),
    )
)
_HEAD_MOVES = np.array([10, 11])
_NOSE_TIP, _OUTER_CORNERS = 1, (33, 263)


def nose_offset(landmarks: np.ndarray) -> np.ndarray:
    """(..., 2) pixels: the nose tip from the eyes' outer corners' midpoint, of (..., 478, 2|3)
    landmarks; it moves with the head's turn and nod."""
    xy = np.asarray(landmarks, np.float64)[..., :2]
    return xy[..., _NOSE_TIP, :] - 0.5 * (
        xy[..., _OUTER_CORNERS[0], :] + xy[..., _OUTER_CORNERS[1], :]
    )


# `_moves`' points: the features' (reenact.landmarks.expressiveness) and the gaze's
# (reenact.landmarks.head_pose, eye 0 = image-left)
_PAIRS = np.array([(13, 14), MOUTH_CORNERS, (386, 374), (159, 145)])
_BROW_LINES = np.array([point_set for point_set, _ in BROW_POINTS])
_BROW_EYES = np.array([corners for _, corners in BROW_POINTS])
_CORNERS = (eye_corners(0), eye_corners(1))
_IRIS_CENTRES = IRIS_CENTRES


def _moves(landmarks: np.ndarray) -> np.ndarray:
    """(12,) crop pixels: the six expression features (FEATURES order) times the inter-ocular
    distance, i.e. the distances they are read from (lips 13-14, corners 61-291, lids 386-374
    and 159-145, each brow's upper line to its eye's corners), the image-left then the
    image-right iris's (along, across) place from its eye's corners' midpoint, and the nose
    tip's (x, y) from the eyes' outer corners' midpoint. The same as `features(lm) *
    inter_ocular(lm)`, `gaze(lm) * eye width` and the head's, read from the few points needed
    (the live loop runs it every frame)."""
    xy = np.asarray(landmarks, np.float64)[:, :2]
    pairs = xy[_PAIRS[:, 0]] - xy[_PAIRS[:, 1]]
    # each mean as np.mean makes it (a sum, then a division), without its call overhead
    lines, eyes = np.add.reduce(xy[_BROW_LINES], axis=1), np.add.reduce(xy[_BROW_EYES], axis=1)
    brows = lines / _BROW_LINES.shape[1] - eyes / _BROW_EYES.shape[1]
    out = np.empty(12)
    out[:4] = np.hypot(pairs[:, 0], pairs[:, 1])
    out[4:6] = np.hypot(brows[:, 0], brows[:, 1])
    for eye, (left, right) in enumerate(_CORNERS):
        axis = xy[right] - xy[left]
        axis /= max(float(np.hypot(*axis)), 1e-6)
        rel = xy[_IRIS_CENTRES[eye]] - 0.5 * (xy[left] + xy[right])
        out[6 + 2 * eye] = rel @ axis
        out[7 + 2 * eye] = rel[1] * axis[0] - rel[0] * axis[1]
    out[10:] = nose_offset(xy)
    return out


class LandmarkSmoother:
    """The live loop's smoothing of the actor's (478,3) aligned-crop landmarks: a One Euro filter
    whose cut-off also opens with the face's own moves.

    The plain One Euro filter opens each coordinate's cut-off with that coordinate's own speed,
    so it tells a syllable from the tracker's jitter only by how fast one point moves, and each
    point is noisy: at the cut-off that keeps a still face steady, a spoken mouth passed 0.94 of
    its amplitude, 17 ms late (the lab's `lab/smoothing_sweep.py`, 51 clips). Here the
    points of a part of the face also follow the speed of that part's move as a whole, read
    between points on either side of it (the lips' gap and the corners' span for the mouth and
    jaw, the lid gap for an eye, the brow's height, the iris's place), which moves when the face
    does and much less with the tracker's noise; and every point follows the head's turn and nod
    (`head_beta`). Each speed is smoothed at `d_cutoff` as the filter's own is.

    min_cutoff, beta, d_cutoff: the One Euro filter's (`OneEuroFilter`), per coordinate.
    expression_beta: Hz per crop pixel a second of a part's move, added to its points' cut-off
    (the larger of this and the point's own wins); 0 = the plain One Euro filter.
    head_beta: the same for the head's move, on every point.
    scale: what the betas' speeds are multiplied by (256 / the crop side: the betas are per
    pixel of a 256 crop). The defaults are `smoothing`'s (`reenact.config.schema.SmoothingConfig`).
    """

    def __init__(
        self,
        *,
        min_cutoff: float = 0.5,
        beta: float = 0.1,
        d_cutoff: float = 1.0,
        expression_beta: float = 0.6,
        head_beta: float = 0.35,
        scale: float = 1.0,
    ) -> None:
        if expression_beta < 0 or head_beta < 0 or scale <= 0:
            raise ValueError(
                "LandmarkSmoother needs expression_beta >= 0, head_beta >= 0, "
                f"scale > 0; got {expression_beta}, {head_beta}, {scale}"
            )
        self._points = OneEuroFilter(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)
        self.expression_beta = float(expression_beta)
        self.head_beta = float(head_beta)
        self.scale = float(scale)
        self._moves: np.ndarray | None = None
        self._speed = np.zeros(12)

    # the One Euro filter's own settings, live (the panel's sliders); beta per 256-crop pixel
    min_cutoff = property(
        lambda self: self._points.min_cutoff,
        lambda self, v: setattr(self._points, "min_cutoff", float(v)),
    )
    d_cutoff = property(
        lambda self: self._points.d_cutoff,
        lambda self, v: setattr(self._points, "d_cutoff", float(v)),
    )
    beta = property(
        lambda self: self._points.beta / self.scale,
        lambda self, v: setattr(self._points, "beta", float(v) * self.scale),
    )

    def reset(self) -> None:
        """Forget the past: the next frame passes through unchanged."""
        self._points.reset()
        self._moves = None
        self._speed = np.zeros(12)

    def filter(self, landmarks: np.ndarray, t_s: float) -> np.ndarray:
        """Filter one frame of (478,2|3) landmarks taken at `t_s` seconds (a new array; float32
        unless float64 came in)."""
        x = np.asarray(landmarks)
        f = self._points
        dt = f.interval(x, t_s)
        moves = _moves(x)
        if dt is None:  # the filter restarts: the moves' speeds too
            self._speed = np.zeros(12)
        elif self._moves is not None:
            self._speed += _alpha(f.d_cutoff, dt) * ((moves - self._moves) / dt - self._speed)
        self._moves = moves
        if dt is None or (self.expression_beta == 0.0 and self.head_beta == 0.0):
            return f.filter(x, t_s)
        speed = np.abs(self._speed) * self.scale
        floor = np.full(x.shape[0], self.head_beta * float(speed[_HEAD_MOVES].max()))
        for points, moves_of in _GROUPS:
            floor[points] = np.maximum(
                floor[points], self.expression_beta * float(speed[moves_of].max())
            )
        return f.filter(x, t_s, floor=floor[:, None])
