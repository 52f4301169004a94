"""Expression size and the gain regions (the features of `reenact eval`, issue 13).

Six features per face (`FEATURES`), from aligned landmarks (..., 478, 2|3), x and y used, each
in inter-ocular distances (eye centre to eye centre, from the eye corners), the definitions of
`reenact eval`'s expression measure (issue 13):

    mouth_open    inner-lip gap, upper 13 to lower 14
    mouth_width   mouth corner 61 to 291 (a smile widens it)
    eye_left      left lid gap 386-374;  eye_right  right lid gap 159-145
    brow_left     left brow's upper line (300 293 334 296 336) to the left eye centre;
    brow_right    right brow (70 63 105 66 107) to the right eye centre

`relative(lm, neutral)` gives the change from the face's own neutral over the size of its region
on that neutral (mouth width for the mouth, eye width for an eye, the neutral brow height for a
brow), so two faces of different proportions can be compared. `GAIN_REGIONS` names the points
each per-region gain (`fusion.gains`) acts on.
"""

from __future__ import annotations

import math

import numpy as np

from reenact.landmarks.regions import REGIONS

FEATURES = ("mouth_open", "mouth_width", "eye_left", "eye_right", "brow_left", "brow_right")
_LEFT_CORNERS, _RIGHT_CORNERS = (263, 362), (33, 133)
_LEFT_BROW, _RIGHT_BROW = (300, 293, 334, 296, 336), (70, 63, 105, 66, 107)
# the mouth corners (mouth_width's points) and the nose base a smile's lift is read from
MOUTH_CORNERS, NOSE_BASE = (61, 291), 2
# per brow (left, right): its upper line's points and the eye corners `features` reads its
# height from (brow_left, brow_right)
BROW_POINTS = ((_LEFT_BROW, _LEFT_CORNERS), (_RIGHT_BROW, _RIGHT_CORNERS))

# the lower face oval, cheek (93) to cheek (323) through the chin (152)
_OVAL = list(REGIONS["face_oval"])
JAW = np.array(_OVAL[_OVAL.index(93) : _OVAL.index(323) + 1])
GAIN_REGIONS: dict[str, np.ndarray] = {
    "eyes": np.r_[
        REGIONS["right_eye"], REGIONS["left_eye"], REGIONS["right_iris"], REGIONS["left_iris"]
    ],
    "brows": np.r_[REGIONS["right_brow"], REGIONS["left_brow"]],
    "mouth": np.unique(np.r_[REGIONS["lips_outer"], REGIONS["lips_inner"]]),
    "jaw": JAW,
}


def _xy(lm) -> np.ndarray:
    return np.asarray(lm, dtype=np.float64)[..., :2]


def _dist(p: np.ndarray, a, b) -> np.ndarray:
    pa = p[..., list(a), :].mean(axis=-2) if isinstance(a, tuple) else p[..., a, :]
    pb = p[..., list(b), :].mean(axis=-2) if isinstance(b, tuple) else p[..., b, :]
    return np.linalg.norm(pa - pb, axis=-1)


# the distances `features` measures (its order), and the inter-ocular one last
_PAIRS = (
    (13, 14),
    MOUTH_CORNERS,
    (386, 374),
    (159, 145),
    (_LEFT_BROW, _LEFT_CORNERS),
    (_RIGHT_BROW, _RIGHT_CORNERS),
    (_LEFT_CORNERS, _RIGHT_CORNERS),
)
_POINTS = sorted({i for pair in _PAIRS for side in pair for i in np.atleast_1d(side).tolist()})


def _side(xy: dict[int, list[float]], side) -> tuple[float, float]:
    if not isinstance(side, tuple):
        return xy[side][0], xy[side][1]
    x, y = xy[side[0]]
    for i in side[1:]:  # in turn, as numpy's mean adds along that axis
        x += xy[i][0]
        y += xy[i][1]
    return x / len(side), y / len(side)


def _distances(p: np.ndarray) -> list[float]:
    """One face's (478,2) float64 `_PAIRS` distances in Python floats: numpy's operations in
    numpy's order (a mean adds in turn then divides, a norm is sqrt(dx dx + dy dy)), so bit for
    bit `_dist`'s, for a tenth of its cost (features are read several times a frame)."""
    xy = dict(zip(_POINTS, p[_POINTS].tolist()))
    out = []
    for a, b in _PAIRS:
        (ax, ay), (bx, by) = _side(xy, a), _side(xy, b)
        dx, dy = ax - bx, ay - by
        out.append(math.sqrt(dx * dx + dy * dy))
    return out


def inter_ocular(lm) -> np.ndarray:
    """(..., 478, 2|3) -> (...) eye centre to eye centre (corners' means), pixels."""
    p = _xy(lm)
    if p.ndim == 2:
        return np.asarray(_distances(p)[-1], np.float64)[()]
    return _dist(p, _LEFT_CORNERS, _RIGHT_CORNERS)


def features(lm) -> np.ndarray:
    """(..., 478, 2|3) pixels -> (..., 6) float64 in IOD units, in `FEATURES` order."""
    p = _xy(lm)
    if p.ndim == 2:
        *values, iod = _distances(p)
        return np.array(values) / np.maximum(np.float64(iod), 1e-6)
    values = np.stack(
        [
            _dist(p, 13, 14),
            _dist(p, *MOUTH_CORNERS),
            _dist(p, 386, 374),
            _dist(p, 159, 145),
            _dist(p, _LEFT_BROW, _LEFT_CORNERS),
            _dist(p, _RIGHT_BROW, _RIGHT_CORNERS),
        ],
        axis=-1,
    )
    return values / np.maximum(inter_ocular(p), 1e-6)[..., None]


def region_sizes(neutral) -> np.ndarray:
    """(478, 2|3) neutral -> (6,) the size each feature is divided by, IOD units."""
    p = _xy(neutral)
    scale = max(float(inter_ocular(p)), 1e-6)
    mouth = _dist(p, *MOUTH_CORNERS) / scale
    sizes = [
        mouth,
        mouth,
        _dist(p, *_LEFT_CORNERS) / scale,
        _dist(p, *_RIGHT_CORNERS) / scale,
        *features(p)[4:],
    ]
    return np.maximum(np.array(sizes), 1e-3)


def relative(lm, neutral) -> np.ndarray:
    """(..., 478, 2|3) and the face's neutral (478, 2|3) -> (..., 6): change over region size."""
    return (features(lm) - features(neutral)) / region_sizes(neutral)


def corner_height(lm) -> np.ndarray:
    """(..., 478, 2|3) pixels -> (...): the mouth corners' mean height above the nose base, IOD
    units (image y points down, so a corner rising makes it larger)."""
    p = _xy(lm)
    up = p[..., NOSE_BASE, 1] - p[..., list(MOUTH_CORNERS), 1].mean(axis=-1)
    return up / np.maximum(inter_ocular(p), 1e-6)


def lift(lm, neutral) -> np.ndarray:
    """(..., 478, 2|3) and the face's neutral (478, 2|3) -> (...): a smile's lift, how far the
    mouth corners rose from the neutral's height over the neutral's mouth width (a frown or a
    dropping jaw reads negative). Read it with the head pose undone: a nod moves it too."""
    mouth = region_sizes(neutral)[FEATURES.index("mouth_width")]
    return (corner_height(lm) - corner_height(neutral)) / mouth


def lip_rounding(lm) -> np.ndarray:
    """(..., 478, 2|3) -> (...) the lips' thickness (outer height, upper lip's top 0 to lower
    lip's bottom 17, less the opening 13-14) over the mouth's width (61-291): about 0.3-0.5 on a
    relaxed closed mouth, 0.8-1.0 on lips pursed for an "oo" or a kiss, whose corners draw in."""
    p = _xy(lm)
    thickness = _dist(p, 0, 17) - _dist(p, 13, 14)
    return thickness / np.maximum(_dist(p, *MOUTH_CORNERS), 1e-6)


def expressiveness(lm: np.ndarray) -> np.ndarray:
    """(N, 478, 2|3) frames of one face, no neutral known -> (N,) a score, low = more neutral.

    The mouth's opening and its width above the narrowest in the window, how far the eyes and
    brows are from their median in the window, all over the inter-ocular distance, and how much
    more rounded the lips are than the window's median (`lip_rounding`): a talking or smiling
    frame scores high, a relaxed closed-mouth frame low. Without the rounding, a pursed mouth
    (an "oo", a kiss) was the narrowest and so the most neutral: a talker who calibrated on
    pursed lips had every relaxed mouth after read as wider, a smile all session.
    """
    f = features(lm)
    median = np.median(f, axis=0)
    rounding = lip_rounding(lm)
    return (
        np.clip(f[:, 0], 0.0, None)
        + (f[:, 1] - f[:, 1].min())
        + 0.5 * np.abs(f[:, 2:] - median[2:]).sum(axis=1)
        + np.clip(rounding - np.median(rounding), 0.0, None)
    )
