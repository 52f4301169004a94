"""A jaw drop on a face's landmarks: the lower lip, chin and jaw moved down, the upper lip kept.

`drop_jaw(landmarks, drop)` is the shape a mouth opens by: every point below the upper inner lip
(13) moves down by `drop` pixels, fully from the lower inner lip (14) on, in between in
proportion to its height; the inner lips between the inner corners are placed by which lip they
belong to rather than by height (on a closed mouth the two lines coincide, and by y alone the
mouth would stay shut); sideways the move fades from half a mouth width beyond the mouth's centre
to nothing at one and a half, so the cheeks beside the face stay. A negative drop closes the
mouth, never past the upper lip.

Used by the lab's `lab/drawn_moves.py` (a drawn jaw drop) and `reenact.fusion.mouth_rest` (an actor
whose calibrated neutral had the mouth open).
"""

from __future__ import annotations

import numpy as np

from reenact.landmarks.expressiveness import MOUTH_CORNERS
from reenact.landmarks.regions import REGIONS

UPPER_INNER, LOWER_INNER = 13, 14
# the inner lips between the inner corners (78, 308): the lower one drops with the jaw, the upper
# one stays, however close they lie (on a closed mouth they coincide)
LOWER_LIP, UPPER_LIP = REGIONS["lips_inner"][1:10], REGIONS["lips_inner"][11:20]


def drop_jaw(landmarks: np.ndarray, drop: float) -> np.ndarray:
    """`landmarks` (478,2|3) pixels with the jaw dropped by `drop` pixels (negative: raised, at
    most until the lips meet): a new float32 array of the same shape."""
    out = np.array(landmarks, np.float32, copy=True)
    xy = out[:, :2]
    width = float(np.hypot(*(xy[MOUTH_CORNERS[1]] - xy[MOUTH_CORNERS[0]])))
    top, lip = float(xy[UPPER_INNER, 1]), float(xy[LOWER_INNER, 1])
    drop = max(float(drop), top - lip)  # never closed past the upper lip
    centre = 0.5 * (xy[MOUTH_CORNERS[0], 0] + xy[MOUTH_CORNERS[1], 0])
    below = np.clip((xy[:, 1] - top) / max(lip - top, 1.0), 0.0, 1.0)
    below[LOWER_LIP], below[UPPER_LIP] = 1.0, 0.0  # by y alone a closed mouth stays shut
    side = np.clip(1.5 - np.abs(xy[:, 0] - centre) / max(width, 1e-6), 0.0, 1.0)
    out[:, 1] += drop * below * side
    return out
