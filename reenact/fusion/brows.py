"""The actor's resting brows: a neutral calibrated with the brows up (or down) is not carried as
a frown (or a raise) for the whole session.

The actor's neutral is the least expressive of the first 1.5 s (`reenact.landmarks.neutral`).
Someone who greets the camera with raised brows calibrates on them, and every later resting brow
then reads as lowered: the target frowns, its eyes narrowed under its brows, as long as the
session lasts (`tests/integration/test_calibration.py`). Many real clips start with the brows
off their rest, so reading against the resting brows rather than the neutral's matters often.

So `BrowRest` watches each brow's height (its upper line to the eye's centre, inter-ocular
distances: `reenact.landmarks.expressiveness.features`) over the first `adapt_frames` frames.
The window's median, once `MIN_SEEN` frames are in, is the actor's resting brow. Within
`KEEP_WITHIN` of the neutral's height (a share of it) the neutral's stands (a neutral taken at
rest stays exactly as it was); further off the rest is followed, shrunk towards the neutral's as
the non-negative garrote does (nearly whole far out), at `ADAPT_RATE` a frame. `apply` moves the
actor's brows by the rest's difference from the neutral, the forehead above them by less (a
harmonic falloff over the mesh from the brows to the eyes, the nose, the lips and the face's
outline, which stay), so that a resting brow reaches the fuser as resting and a raise from it as
a raise. Once the window is full the rest is held, as the neutral is: a later, lasting change
of the actor's brows is carried, not absorbed. A new calibration or a new actor starts the
window again (`forget`). adapt_frames 0 reads the calibrated neutral's brows throughout.

All in aligned-crop pixels: (478,3) in, (478,3) float32 out.
"""

from __future__ import annotations

import numpy as np

from reenact.fusion.harmonic import HarmonicBlend
from reenact.fusion.memo import NeutralMemo
from reenact.fusion.rest import ADAPT_RATE, RestFeature, RestWindow
from reenact.landmarks.expressiveness import BROW_POINTS, features, inter_ocular
from reenact.landmarks.regions import REGIONS

MIN_SEEN = 15  # frames in the window before the resting brow leaves the neutral's
KEEP_WITHIN = 0.05  # a resting brow within this share of the neutral's height: the neutral's
_BROW_FEATURES = slice(4, 6)  # brow_left, brow_right in `features`

_FALLOFF: np.ndarray | None = None


def falloff() -> np.ndarray:
    """(478,2) per point, how much of the left and of the right brow's shift it takes: 1 on the
    brow, 0 on the eyes (irises too), nose, lips and face outline, harmonic in between."""
    global _FALLOFF  # built on first use (a small linear solve), never at import
    if _FALLOFF is None:
        still = np.unique(
            np.r_[
                REGIONS["left_eye"],
                REGIONS["right_eye"],
                REGIONS["left_iris"],
                REGIONS["right_iris"],
                REGIONS["nose"],
                REGIONS["lips_outer"],
                REGIONS["lips_inner"],
                REGIONS["face_oval"],
            ]
        )
        blend = HarmonicBlend(
            {
                "left": REGIONS["left_brow"],
                "right": REGIONS["right_brow"],
                "still": np.setdiff1d(still, np.r_[REGIONS["left_brow"], REGIONS["right_brow"]]),
            }
        )
        _FALLOFF = np.stack(
            [
                blend.values(np.array([[1.0] * 2, [0.0] * 2, [0.0] * 2]))[:, 0],
                blend.values(np.array([[0.0] * 2, [1.0] * 2, [0.0] * 2]))[:, 0],
            ],
            axis=1,
        )
    return _FALLOFF


def _up(neutral: np.ndarray) -> np.ndarray:
    """(2,2) per brow (left, right), the unit vector from the eye's centre to the brow's upper
    line on the neutral (x, y crop pixels: about (0, -1) in the level crop)."""
    out = np.empty((2, 2))
    for side, (line, corners) in enumerate(BROW_POINTS):
        vector = neutral[list(line), :2].mean(axis=0) - neutral[list(corners), :2].mean(axis=0)
        out[side] = vector / max(float(np.linalg.norm(vector)), 1e-6)
    return out


def _brows(neutral: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The neutral's (2,) brow heights (inter-ocular units, at least 1e-6) and per brow the
    shift (x, y) crop pixels of a share of 1 of its height."""
    neutral = np.asarray(neutral, np.float64)
    heights = features(neutral)[_BROW_FEATURES]
    pixels = (heights * float(inter_ocular(neutral)))[:, None] * _up(neutral)
    return np.maximum(heights, 1e-6), pixels


class BrowRest(RestWindow):
    """The actor's resting brows, learnt over the first `adapt_frames` frames (module docstring;
    the window and its rest are a `reenact.fusion.rest.RestFeature`'s, one column a brow).

    adapt_frames: the window (frames; 0 = the calibrated neutral's brows throughout).
    """

    def __init__(self, *, adapt_frames: int = 0) -> None:
        self.rest = RestFeature(
            adapt_frames=adapt_frames,
            columns=2,
            min_seen=MIN_SEEN,
            rest_of=lambda seen: np.median(seen, axis=0),
            offset_of=lambda rest, neutral: rest / neutral - 1.0,
            keep_within=KEEP_WITHIN,
            rate=ADAPT_RATE,
        )
        self._brows = NeutralMemo(_brows)  # read once per neutral

    @property
    def offset(self) -> np.ndarray:
        """(2,) the resting brows' height (left, right) over the neutral's, as a share of it:
        what `apply` takes away (0 while the neutral's stand)."""
        return self.rest.offset

    def observe(self, source: np.ndarray, neutral: np.ndarray) -> np.ndarray:
        """Add this frame's brow heights to the window; returns `offset`."""
        if not self.rest.learning:  # off, or held: nothing read
            return self.offset
        return self.rest.observe(features(source)[_BROW_FEATURES], lambda: self._brows(neutral)[0])

    def apply(self, source: np.ndarray, neutral: np.ndarray) -> np.ndarray:
        """The actor's (478,3) aligned landmarks with the brows moved by the resting brows'
        difference from the neutral's (the same array when there is none)."""
        offset = self.observe(source, neutral)
        if not offset.any():
            return source
        shift = -offset[:, None] * self._brows(neutral)[1]  # (2 brows, xy) pixels
        out = np.array(source, np.float32, copy=True)
        out[:, :2] += (falloff() @ shift).astype(np.float32)
        return out
