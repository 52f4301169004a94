"""Eyes for the warp renderer: lids close over the eyeball instead of squashing it.

A piecewise-affine warp closes an eye by compressing everything between the lids, iris included.
`EyeKeeper.geometry` instead has the map sample the inside of each fused eye opening from the
target's eyeball at its own scale (a `MapOverride`, `reenact.render.corrections`), moved with
the iris (so gaze follows and the iris keeps its shape), wherever the fused eye is no wider open
than the target's; what the lids cover is painted as lid skin by `reenact.render.lids`. A
wider-open eye keeps the stretched warp (no hidden sclera to reveal).

`EyeKeeper.snap_closed` shuts an eye that is nearly closed, and `uncross_lids` makes sure no
upper lid / upper inner lip point ends up below its partner.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from reenact.landmarks.regions import REGIONS
from reenact.ramps import smoothstep
from reenact.render.corrections.base import Correction, MapOverride
from reenact.render.paint import fill_aa, mean32, mean_rows, pad_box

_EYES = (REGIONS["right_eye"], REGIONS["left_eye"])  # 16-point rings, corner at 0 and 8
_IRIS_CENTRES = (REGIONS["right_iris"][0], REGIONS["left_iris"][0])
# upper / lower partners: ring[1..7] above ring[15..9]
UPPER_LIDS = tuple(ring[1:8] for ring in _EYES)
LOWER_LIDS = tuple(ring[15:8:-1] for ring in _EYES)
_INNER = REGIONS["lips_inner"]  # 78, lower lip ..., 308, upper lip ... (20 points)
UPPER_INNER_LIP = _INNER[19:10:-1]  # 191 ... 415 (corners excluded)
LOWER_INNER_LIP = _INNER[1:10]  # 95 ... 324


def uncross_lids(xy: np.ndarray) -> None:
    """In place on (478,2) crop pixels: an upper lid / lip point below its partner meets it
    halfway."""
    for upper, lower in (*zip(UPPER_LIDS, LOWER_LIDS), (UPPER_INNER_LIP, LOWER_INNER_LIP)):
        gap = xy[lower, 1] - xy[upper, 1]
        crossed = gap < 0
        if crossed.any():
            mid = 0.5 * (xy[lower, 1] + xy[upper, 1])
            xy[upper[crossed], 1] = mid[crossed]
            xy[lower[crossed], 1] = mid[crossed]


def eye_centre(xy: np.ndarray, eye: int) -> np.ndarray:
    """(2,) the midpoint of eye 0's (image-left) or 1's two corners, in `xy`'s pixels: where the
    eye is. The eye keeper moves the eyeball, and the lid painter its lid, by how far this moved
    from the target's."""
    ring = _EYES[eye]
    return 0.5 * (xy[ring[0], :2] + xy[ring[8], :2])


def eye_opening(xy: np.ndarray, eye: int) -> float:
    """Mean lid gap of eye 0 (image-left) or 1, in pixels (>= 0)."""
    return mean32(np.maximum(xy[LOWER_LIDS[eye], 1] - xy[UPPER_LIDS[eye], 1], 0.0))


class EyeKeeper(Correction):
    """Keeps each eyeball's pixels at their own scale inside a closing fused eye.

    size: crop side. gaze_limit: the largest iris shift relative to the eye, in eye widths.
    """

    name = "eyes"
    reshapes = True

    def __init__(self, *, size: int, gaze_limit: float = 0.15) -> None:
        self.size = int(size)
        self.gaze_limit = float(gaze_limit)
        self.feather = 0.5 * self.size / 256.0
        self._target_xy: np.ndarray | None = None
        self._openings = (0.0, 0.0)
        self._corners_t: list[np.ndarray] = []  # per eye: (2,) the target's corners' midpoint
        self._gaze_t: list[np.ndarray] = []  # per eye: (2,) target iris minus that midpoint
        self._limits: list[float] = []  # per eye: the gaze shift's limit in pixels

    def prepare(self, target_crop: np.ndarray | None, target_landmarks: np.ndarray) -> None:
        """target_landmarks: (478,2|3) crop pixels of the target's neutral face (the crop is
        not read)."""
        self._target_xy = np.asarray(target_landmarks, np.float32)[:, :2].copy()
        self._openings = tuple(eye_opening(self._target_xy, e) for e in (0, 1))
        t = self._target_xy
        self._corners_t = [eye_centre(t, e) for e in (0, 1)]
        self._gaze_t = [t[iris] - c for iris, c in zip(_IRIS_CENTRES, self._corners_t)]
        self._limits = [self.gaze_limit * float(np.hypot(*(t[r[8]] - t[r[0]]))) for r in _EYES]

    def settle(self, xy: np.ndarray) -> None:
        self.snap_closed(xy)

    def snap_closed(self, xy: np.ndarray) -> None:
        """In place on fused (478,2): an eye open less than ~10-30 % of the target's shuts.

        A tracked blink rarely brings the lids fully together; a thin slit of eyeball reads as
        "not quite closed", so the remaining gap fades to 0 (upper lid down to the lower one).
        """
        for eye in (0, 1):
            target_open = self._openings[eye]
            if target_open <= 0.0:
                continue
            keep = float(smoothstep((eye_opening(xy, eye) / target_open - 0.1) / 0.2))
            if keep < 1.0:
                upper, lower = UPPER_LIDS[eye], LOWER_LIDS[eye]
                gap = np.clip(xy[lower, 1] - xy[upper, 1], 0.0, None)
                xy[upper, 1] = xy[lower, 1] - keep * gap

    def _shift(self, xy: np.ndarray, eye: int) -> np.ndarray:
        """Where the eyeball moved: the eye's corners' motion plus the (limited) gaze change."""
        corners_t, limit = self._corners_t[eye], self._limits[eye]
        corners_f = eye_centre(xy, eye)
        gaze = (xy[_IRIS_CENTRES[eye]] - corners_f) - self._gaze_t[eye]
        gaze = np.minimum(np.maximum(gaze, -limit), limit)
        return (corners_f - corners_t) + gaze

    def geometry(self, xy: np.ndarray) -> list[MapOverride]:
        """Where the eyeballs replace the warp: per closing eye, a `MapOverride` with one (2,)
        float32 shift for the box (the eyeball moved as a whole); xy: (478,2) fused."""
        found = []
        for eye in (0, 1):
            target_open = self._openings[eye]
            fused_open = eye_opening(xy, eye)
            # 1 while no wider than the target's eye, 0 from 15 % wider on (stretch instead)
            weight = min(max((1.15 * target_open - fused_open) / (0.15 * target_open + 1e-6), 0), 1)
            if weight <= 0.0:
                continue
            shift = self._shift(xy, eye)
            if self._unchanged(xy, eye, shift):
                continue
            override = self._eye_override(xy, eye, weight, shift)
            if override is not None:
                found.append(override)
        return found

    def _unchanged(
        self, xy: np.ndarray, eye: int, shift: np.ndarray, tolerance: float = 0.25
    ) -> bool:
        """True when the eye only moved as a whole (lids and gaze within `tolerance` px of
        `_shift`'s (2,) `shift`): the warp already shows it right, so the override is skipped."""
        ring = _EYES[eye]
        moved = xy[ring] - self._target_xy[ring]
        mean = mean_rows(moved)
        return bool(
            np.abs(moved - mean).max() < tolerance and np.abs(shift - mean).max() < tolerance
        )

    def _eye_override(self, xy, eye: int, weight: float, shift: np.ndarray):
        poly = xy[_EYES[eye]]
        pad = int(math.ceil(2 * self.feather)) + 2
        x0, y0, x1, y1 = pad_box(poly, pad, pad + 1, self.size)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        fill_aa(mask, poly, (x0, y0))
        alpha = cv2.GaussianBlur(mask, (0, 0), self.feather).astype(np.float32)
        alpha *= weight / 255.0
        return MapOverride((x0, y0, x1, y1), alpha, np.asarray(shift, np.float32))
