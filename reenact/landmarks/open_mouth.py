"""A wide-open mouth in a still picture, tracked again with the lower face squashed.

The face mesh has a largest mouth it will draw. A picture opened wider than that (a yawn, a
shout) is fitted with its lower lip too high, at the tongue's or the teeth's edge, and its chin on
the lower lip: a renderer driven from those landmarks moves the tongue for the lip and the lip for
the chin. Squashed vertically below the upper lip, the same picture shows a mouth the mesh can
draw; the landmarks it finds there, mapped back through the squash, sit on the real lip and chin.

`retrack_open_mouth` does that for a still target whose inner lips are further apart than
`OPEN_GATE` mouth widths: it re-tracks an aligned copy with the band from the upper lip to below
the chin squashed by each factor of `SQUASH`, maps each result back and takes their mean. The
squash must be deep enough for the widest mouth a face makes: a shallower squash leaves a
mouth opened more than a mouth width at the mesh's limit, where the tracks read it narrower than
a smaller yawn; deeper, they read each drop in order (`tests/integration/test_open_mouth.py`).

How much of that mean the lower face takes changes smoothly, never by a switch: a frame read
one way and the next one the other would jump by up to a tenth of a mouth width, more than a
driver's talking moves the lips. The share is the product of three ramps, each from 0 to 1:
- the opening past `OPEN_GATE`, full `FADE` beyond it, the opening being the larger of the
  picture's own reading and the squashed one (the plain track can put a yawn's lower lip far up
  the tongue: an output frame read 0.43 whose squashed tracks read 0.9-1.1);
- the squashed tracks' opening past the picture's own, full `WIDER` beyond it (a mouth the mesh
  can draw reads about the same squashed, or narrower, and keeps its own track);
- the two squashed tracks' agreement: full within `AGREE` mouth widths, none at twice that (not,
  say, on an animal's muzzle).
Within the face it rises from 0 at the nose tip to 1 at the upper lip, so the eyes, brows and
nose are the picture's own track. z is the picture's own track's.

Used once per target picture (three static tracks of a 512 px crop), and by `reenact eval` on
each output frame it re-tracks (an output is a picture of the target, tracked as the target
was); never on live frames.
"""

from __future__ import annotations

from contextlib import nullcontext

import cv2
import numpy as np

from reenact.config.schema import TrackerConfig
from reenact.landmarks.align import Alignment, compute_alignment
from reenact.landmarks.expressiveness import features
from reenact.landmarks.tracker import FaceTracker

OPEN_GATE = 0.3  # inner-lip gap (13-14) / mouth width (61-291) above which the mouth is re-tracked
FADE = 0.2  # the squashed tracks' share grows from OPEN_GATE to OPEN_GATE + FADE
SQUASH = (0.6, 0.5)  # the squashed band's height, as a fraction of its own
WIDER = 0.05  # the squashed tracks reading the mouth this much wider than the picture's own: full
AGREE = 0.15  # the squashed tracks' openings differing by this (mouth widths): full; twice: none
CROP = 512  # the aligned copy's side (inter-ocular distance 128 px)
BELOW_CHIN = 0.08  # the band ends this far below the picture's chin (crop sides)
_NOSE_TIP, _UPPER_LIP, _CHIN = 1, 13, 152


def mouth_opening(landmarks: np.ndarray) -> float:
    """(478,2|3) pixels -> the inner lips' gap (13 to 14) over the mouth's width (61 to 291):
    `features`' mouth_open over its mouth_width."""
    f = features(landmarks)
    return float(f[0] / max(f[1], 1e-6))


def unsquash(y: np.ndarray, top: float, bottom: float, factor: float) -> np.ndarray:
    """Rows of the squashed copy -> rows of the unsquashed one: the band [top, bottom) was
    scaled by `factor` about `top`, rows below it moved up by the band's loss."""
    y = np.asarray(y, np.float64)
    end = top + (bottom - top) * factor
    return np.where(y < top, y, np.where(y < end, top + (y - top) / factor, bottom + (y - end)))


def _squashed_track(
    image: np.ndarray,
    alignment: Alignment,
    top: float,
    bottom: float,
    factor: float,
    tracker: FaceTracker,
) -> np.ndarray | None:
    """The face of `image` tracked on its aligned copy with the band squashed; (478,3) in
    aligned-copy pixels of the unsquashed copy, or None if no face is found."""
    rows = unsquash(np.arange(CROP, dtype=np.float64), top, bottom, factor)
    x, y = np.meshgrid(np.arange(CROP, dtype=np.float64), rows)
    m = alignment.inverse
    map_x = (m[0, 0] * x + m[0, 1] * y + m[0, 2]).astype(np.float32)
    map_y = (m[1, 0] * x + m[1, 1] * y + m[1, 2]).astype(np.float32)
    copy = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    found = tracker.track_one(np.ascontiguousarray(copy))
    if found is None:
        return None
    found = found.astype(np.float64)
    found[:, 1] = unsquash(found[:, 1], top, bottom, factor)
    return found


def retrack_open_mouth(
    image: np.ndarray, face: np.ndarray, config: TrackerConfig, tracker: FaceTracker | None = None
) -> np.ndarray:
    """image: (H,W,3) uint8 RGB; face: (478,3) float32 its face's landmarks in image pixels.

    Returns (478,3) float32: `face` with its lower face re-tracked (see the module doc) if the
    mouth is open wider than `OPEN_GATE`, else `face` itself. tracker: a static-mode tracker to
    use (one is opened from `config` when None).
    """
    opening = mouth_opening(face)  # a similarity: the same in the aligned copy
    if opening <= OPEN_GATE:
        return face
    alignment = compute_alignment(face, CROP)
    own = alignment.landmarks_to_crop(face).astype(np.float64)
    top = float(own[_UPPER_LIP, 1])
    bottom = float(min(CROP - 1.0, own[_CHIN, 1] + BELOW_CHIN * CROP))
    if bottom <= top + 1.0:
        return face
    with FaceTracker(config, static=True) if tracker is None else nullcontext(tracker) as use:
        squashed = [_squashed_track(image, alignment, top, bottom, f, use) for f in SQUASH]
    if any(s is None for s in squashed):
        return face
    openings = [mouth_opening(s) for s in squashed]
    mean = np.mean([s[:, :2] for s in squashed], axis=0)
    wider = mouth_opening(mean)
    share = (
        _ramp(max(opening, wider) - OPEN_GATE, FADE)
        * _ramp(wider - opening, WIDER)
        * _ramp(2 * AGREE - (max(openings) - min(openings)), AGREE)
    )
    if share == 0.0:
        return face
    nose, lip = own[_NOSE_TIP, 1], own[_UPPER_LIP, 1]
    weight = share * np.clip((own[:, 1] - nose) / max(lip - nose, 1e-6), 0.0, 1.0)[:, None]
    out = own.copy()
    out[:, :2] += weight * (mean - own[:, :2])
    return alignment.landmarks_to_image(out).astype(np.float32)


def _ramp(value: float, full: float) -> float:
    """0 at or below 0, rising linearly to 1 at `full` and beyond."""
    return float(np.clip(value / full, 0.0, 1.0))
