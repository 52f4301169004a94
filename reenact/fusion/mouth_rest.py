"""The actor's closed mouth: a neutral calibrated with the mouth open is not carried as a mouth
that stays shut.

The actor's neutral is the least expressive of the first 1.5 s (`reenact.landmarks.neutral`),
which finds a closed mouth as long as the lips meet a few times in that window. Someone who
talks straight through it calibrates on an open mouth, and then every opening smaller than that
reads as closing: the target's lips press together (the fused lips cross, and are drawn shut)
while the actor talks, and open only on the widest syllables. Many talking clips calibrate this
way (`tests/integration/test_calibration.py`).

So `MouthRest` watches the actor's mouth opening (the inner lips' gap 13-14 over the
inter-ocular distance: `reenact.landmarks.expressiveness.features`) over the first
`adapt_frames` frames. Once `MIN_CLOSED` frames are in, the median of the `MIN_CLOSED` least open
of them is the actor's closed mouth: the lips meeting once between words (a tenth of a second)
is enough, a single misread frame is outvoted, and a misread that takes open lips for closed
says only what nearly everyone's closed mouth is, lips together; a larger count settles later on
a talker whose lips rarely meet. Where the neutral's opening is within `KEEP_WITHIN` of it (a
neutral taken with the lips together, or with the small parting some people rest with) the neutral
stands exactly; further above it the difference is followed, shrunk towards none as the
non-negative garrote does (nearly whole far out), at `ADAPT_RATE` a frame. `apply` drops the
actor's jaw by that difference (`reenact.landmarks.jaw.drop_jaw`: the lower lip, chin and jaw,
never the upper lip, the nose or the eyes), so that the actor's closed mouth reaches the fuser as
the neutral's and an opening from it as an opening: the same as taking the neutral's mouth
closed, but the neutral itself (and what is worked out from it once per calibration) stays as
calibrated. Only ever towards closing: the neutral's mouth is never taken as more open, and
one never seen closer than it is stands.
Once the window is full the rest is held, as the neutral is. A new calibration or a new actor
starts the window again (`forget`). adapt_frames 0 reads the calibrated neutral's mouth
throughout.

All in aligned-crop pixels: (478,3) in, (478,3) float32 out.
"""

from __future__ import annotations

import numpy as np

from reenact.fusion.memo import NeutralMemo
from reenact.fusion.rest import ADAPT_RATE, RestFeature, RestWindow
from reenact.landmarks.expressiveness import features, inter_ocular
from reenact.landmarks.jaw import drop_jaw

MIN_CLOSED = 3  # the closed mouth: the median of this many least open frames of the window
KEEP_WITHIN = 0.03  # inter-ocular distances: a neutral opened this little over it stands


def inner_gap(landmarks: np.ndarray) -> float:
    """(478,2|3) pixels -> the inner lips' gap (13 to 14) in inter-ocular distances."""
    return float(features(landmarks)[0])


def _gap_of(neutral: np.ndarray) -> np.ndarray:
    """(1,) `inner_gap`, as the window's reading of the neutral."""
    return np.array([inner_gap(neutral)])


def _closed(seen: np.ndarray) -> np.ndarray:
    """(1,) the closed mouth of a window of (n,1) openings: the median of its MIN_CLOSED least
    open."""
    return np.array([np.median(np.partition(seen[:, 0], MIN_CLOSED - 1)[:MIN_CLOSED])])


class MouthRest(RestWindow):
    """The actor's closed mouth, learnt over the first `adapt_frames` frames (module docstring;
    the window and its rest are a `reenact.fusion.rest.RestFeature`'s, one column).

    adapt_frames: the window (frames; 0 = the calibrated neutral's mouth throughout).
    """

    def __init__(self, *, adapt_frames: int = 0) -> None:
        self.rest = RestFeature(
            adapt_frames=adapt_frames,
            columns=1,
            min_seen=MIN_CLOSED,
            rest_of=_closed,
            # only ever towards closing: a mouth seen closer than the neutral's only
            offset_of=lambda closed, neutral: np.maximum(neutral - closed, 0.0),
            keep_within=KEEP_WITHIN,
            rate=ADAPT_RATE,
        )
        self._neutral_gap = NeutralMemo(_gap_of)  # the neutral's, read once per neutral

    @property
    def offset(self) -> float:
        """How much further apart the neutral's inner lips are than the actor's closed mouth's,
        in inter-ocular distances: what `apply` drops the jaw by (0 while the neutral's
        stands)."""
        return float(self.rest.offset[0])

    def observe(self, source: np.ndarray, neutral: np.ndarray) -> float:
        """Add this frame's mouth opening to the window; returns `offset`."""
        if self.rest.learning:
            self.rest.observe(np.array([inner_gap(source)]), lambda: self._neutral_gap(neutral))
        return self.offset

    def apply(self, source: np.ndarray, neutral: np.ndarray) -> np.ndarray:
        """The actor's (478,3) aligned landmarks with the jaw dropped by the neutral's opening
        over the closed mouth's (the same array when there is none)."""
        offset = self.observe(source, neutral)
        if offset <= 0.0:
            return source
        return drop_jaw(source, offset * float(inter_ocular(source)))
