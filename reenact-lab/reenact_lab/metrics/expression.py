"""Expression carried from an actor to an output: interpretable features, r and gain.

Features of one face, from its MediaPipe landmarks `(..., 478, 2|3)` (x, y used; any pixel frame
in which the face is not sheared, e.g. the aligned crop), each in inter-ocular distances (IOD):

    mouth_open    inner-lip gap, upper 13 to lower 14
    mouth_width   mouth corner 61 to 291 (a smile widens it)
    eye_left      subject's left lid gap 386-374;  eye_right  right lid gap 159-145
    brow_left     left brow's upper line (300 293 334 296 336) to the left eye centre;
    brow_right    right brow (70 63 105 66 107) to the right eye centre

`relative_features` (the definitions live in `reenact.landmarks.expressiveness`, which the
calibration and Phi use too) turns them into changes from the face's own neutral, divided by the size of
their region on that neutral face (mouth width for the mouth, eye width for an eye, the neutral
brow height for a brow), so that a small mouth opening as far as a big one, relative to its size,
counts the same: this is the per-region size ratio of two faces.

Head pose is not expression. The features are image-plane distances, so a head that turns or nods
changes them with no expression at all: a yaw of 10 degrees narrows the far eye and lowers the far
brow in the picture, and a driver filmed in three-quarter view reads much of its brow "expression"
from its turns. So, given 3-D landmarks, each frame first has its rigid head motion relative to
the face's own neutral undone (`reenact.landmarks.head_pose.undo_pose`, a similarity fit on points
that keep their place on the skull) and the features are read from that: the expression, not the
pose. The image-plane reading stays available (`pose_free=False`; `expression_carried` returns it
as `r_2d` / `gain_2d`), the measure as it was before this change.

`smile_lift` reads what those features miss of a smile: its corners rising. Each frame's mouth
corners (61, 291, their mean height) are measured up from the nose base (2), in IOD, with the
head pose undone as above; the change from the face's neutral is over the neutral's mouth width,
so +0.1 is corners a tenth of a mouth width higher (a frown or a dropping jaw reads negative). It
is its own row, not one of the six features of the expression r and gain: Phi and the
calibration read those six, and the expression figures stay comparable with earlier reports.

`expression_carried` compares the actor's and the output's relative features frame by frame:
`r` is the mean over features of the Pearson r, `gain` the mean regression slope (output on
actor; 1.0 = moves as much as the actor). Features the actor barely moves are left out.

So are features the tracker cannot read on the actor. Given `actor_reread`, the actor's same
frames read a second time by the output's reader (the eval re-tracks the driver's frames in
static mode, as it re-tracks every output), each feature's *reliability* is the Pearson r of
its two readings: the test-retest reliability of classical measurement, the share of the
reading's variance that is the face's and not the reader's. Below MIN_RELIABILITY (0.5: more
reader noise than movement) a slope against that series measures the tracker, not the output
(a slope on a noisy actor series is pulled towards 0 by the noise's share), so the feature is
left out, for r, gain and the smile lift alike. A frontal driver reads every feature reliably;
a driver filmed in three-quarter view reads its far brow barely better than noise, so any
output, the driver's own real face re-tracked included, scored about 0 on it, and an output of
the two readers' disagreement alone (no expression at all) scored about the real face's gain.
`r_all` / `gain_all` keep the reading without this gate (every feature the actor moved), as
reported before it.

Each feature's two directions apart: `gain_below` and `gain_above` are its slope over the frames
where the actor's feature lies below / above its neutral (`reenact_lab.metrics.series.gain_sides`,
one line bent at the neutral): an eye closing and widening, a mouth narrowing and widening, a
jaw closing and dropping, a brow lowering and raising. One slope over both hides where a drawing
falls short: an open-mouthed portrait that cannot be drawn closed, a widened eye the face mesh
does not read, read beside a closing drawn whole, score a middling gain either way. They are
per feature only, not in the means.

`gain_iv` (given `actor_reread`) is the slope on the actor's *true* series rather than on its
live reading: `reenact_lab.metrics.series.gain_iv`, cov(output, reread) / cov(actor, reread), the
second reading as the instrument. The live reading's noise, which pulls `gain` down for a
faithful copy (regression dilution), is in neither covariance; an output that copies only that
noise scores about 0 by it. It needs the output read apart from the instrument: the driver's
own frames re-read *as* the instrument score above 1 by it.
"""

from __future__ import annotations

import numpy as np

from reenact.landmarks.expressiveness import FEATURES, lift, relative
from reenact.landmarks.head_pose import undo_pose
from reenact_lab.metrics.series import gain, gain_iv, gain_sides, nanmean, pearson_r

MIN_ACTOR_STD = 0.02  # relative units: below this a feature did not move (tracker noise ~0.005)
# test-retest r of the actor's two readings below which a feature is unreadable (module docstring)
MIN_RELIABILITY = 0.5
# each feature's two directions from the neutral (module docstring), `gain_sides`' two slopes
SIDES = ("gain_below", "gain_above")


def _checked(landmarks) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape[-2:] not in ((478, 2), (478, 3)):
        raise ValueError(f"landmarks must be (..., 478, 2|3), got {points.shape}")
    return points


def pose_undone(landmarks: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """(T, 478, 3) frames with each one's rigid head motion relative to `neutral` (478, 3) undone
    (NaN rows stay NaN): the face as if it had kept the neutral's pose."""
    out = np.full(landmarks.shape, np.nan)
    for i, face in enumerate(landmarks):
        if np.isfinite(face).all():
            out[i] = undo_pose(face, neutral)[0]
    return out


def _read(landmarks, neutral, pose_free: bool) -> tuple[np.ndarray, np.ndarray]:
    """The checked frames and neutral; with `pose_free` and 3-D landmarks, the frames with their
    head pose relative to the neutral undone."""
    points, reference = _checked(landmarks), _checked(neutral)
    if pose_free and points.shape[-1] == 3 and reference.shape[-1] == 3:
        points = pose_undone(points.reshape(-1, *points.shape[-2:]), reference).reshape(
            points.shape
        )
    return points, reference


def relative_features(landmarks, neutral, *, pose_free: bool = True) -> np.ndarray:
    """(T, 478, 2|3) and the face's neutral (478, 2|3) -> (T, 6): change over region size
    (the features and sizes of `reenact.landmarks.expressiveness`, one definition). pose_free:
    with 3-D landmarks, read them with the head pose undone (module docstring); 2-D landmarks
    are read as they are (their features are already free of roll, shift and scale)."""
    points, reference = _read(landmarks, neutral, pose_free)
    return relative(points, reference)


def reliability(actor_values: np.ndarray, reread_values: np.ndarray) -> np.ndarray:
    """(T, F) one reading of the actor's features and (T, F) a second reading of the same frames
    -> (F,) the Pearson r of the two per feature (test-retest reliability); NaN where the first
    barely moves (left out anyway) or fewer than 3 frames have both."""
    a = np.asarray(actor_values, np.float64).reshape(len(actor_values), -1)
    b = np.asarray(reread_values, np.float64).reshape(len(reread_values), -1)
    return np.array(
        [pearson_r(a[:, i], b[:, i], min_actor_std=MIN_ACTOR_STD) for i in range(a.shape[1])]
    )


def _readable(reliable: np.ndarray | None, index: int) -> bool:
    """Whether feature `index` is scored: always without a second reading (None) or where its
    reliability could not be worked out (NaN); otherwise at MIN_RELIABILITY or more."""
    return (
        reliable is None or not np.isfinite(reliable[index]) or reliable[index] >= MIN_RELIABILITY
    )


def _carried(a: np.ndarray, o: np.ndarray, b: np.ndarray | None = None) -> dict:
    """r and gain per feature of actor features `a` and output features `o` (T, 6), and their
    means; per feature also "gain_below" / "gain_above" (`SIDES`). Given `b`, the actor's
    features read a second time: each feature's reliability, a feature `_readable` rejects gets
    NaN (left out of the means), and "gain_iv" (`gain_iv`, the slope on the actor's true
    series) for the rest."""
    reliable = None if b is None else reliability(a, b)
    per = {}
    for i, name in enumerate(FEATURES):
        scored = _readable(reliable, i)
        per[name] = {
            "r": pearson_r(a[:, i], o[:, i], min_actor_std=MIN_ACTOR_STD) if scored else np.nan,
            "gain": gain(a[:, i], o[:, i], min_actor_std=MIN_ACTOR_STD) if scored else np.nan,
            "gain_iv": gain_iv(a[:, i], b[:, i], o[:, i], min_actor_std=MIN_ACTOR_STD)
            if scored and b is not None
            else np.nan,
            **dict(
                zip(
                    SIDES,
                    gain_sides(a[:, i], o[:, i], min_actor_std=MIN_ACTOR_STD)
                    if scored
                    else (np.nan, np.nan),
                )
            ),
            "reliability": float("nan") if reliable is None else float(reliable[i]),
        }
    return {name: nanmean(v[name] for v in per.values()) for name in ("r", "gain", "gain_iv")} | {
        "features": per
    }


def features_carried(actor_features, output_features) -> dict:
    """r and gain of (T, 6) output features on (T, 6) actor features already read
    (`relative_features`; NaN rows left out), pooled over whatever the T rows are (frames of one
    clip, or stills of several subjects each read against its own neutral): {"r", "gain",
    "features": {name: {"r", "gain", ...}}}, features the actor barely moves left out."""
    a = np.asarray(actor_features, np.float64).reshape(-1, len(FEATURES))
    o = np.asarray(output_features, np.float64).reshape(-1, len(FEATURES))
    return _carried(a, o)


def _reading(
    actor, actor_neutral, output, output_neutral, actor_reread, *, pose_free: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The actor's and the output's relative features of one reading (pose undone or the image
    plane), and those of `actor_reread` read the same way (None without it)."""
    a = relative_features(actor, actor_neutral, pose_free=pose_free)
    b = (
        None
        if actor_reread is None
        else relative_features(actor_reread, actor_neutral, pose_free=pose_free)
    )
    return a, relative_features(output, output_neutral, pose_free=pose_free), b


def expression_carried(actor, actor_neutral, output, output_neutral, *, actor_reread=None) -> dict:
    """How the output's expression follows the actor's, frame by frame.

    actor, output: (T, 478, 2|3) landmarks of the same T frames (NaN rows where the output was
    not re-tracked); actor_neutral, output_neutral: (478, 2|3) each face's own neutral;
    actor_reread: None, or (T, 478, 2|3) the actor's same frames read by the output's reader
    (NaN rows where it found no face), in the same pixel frame as `actor`: features it cannot
    read reliably are left out (module docstring).
    Returns {"r": float, "gain": float, "gain_iv": float, "features": {name: {"r", "gain",
    "gain_iv", "reliability"}}}, the head pose undone (module docstring; gain_iv NaN without
    `actor_reread`); "r_all", "gain_all": r and gain without the reliability gate; "r_2d",
    "gain_2d", "features_2d" read in the image plane (gated by its own reliability); NaN when
    no feature moved in the actor.
    """
    a, o, b = _reading(actor, actor_neutral, output, output_neutral, actor_reread, pose_free=True)
    found, every = _carried(a, o, b), _carried(a, o)
    flat = _carried(
        *_reading(actor, actor_neutral, output, output_neutral, actor_reread, pose_free=False)
    )
    return found | {
        "r_all": every["r"],
        "gain_all": every["gain"],
        "r_2d": flat["r"],
        "gain_2d": flat["gain"],
        "features_2d": flat["features"],
    }


def smile_lift(landmarks, neutral, *, pose_free: bool = True) -> np.ndarray:
    """(T, 478, 2|3) and the face's neutral (478, 2|3) -> (T,): how far the mouth corners rose
    from the neutral's, over its mouth width (module docstring); NaN where a frame is NaN."""
    return lift(*_read(landmarks, neutral, pose_free))


def smile_carried(actor, actor_neutral, output, output_neutral, *, actor_reread=None) -> dict:
    """How the output's mouth corners rise and fall with the actor's (`smile_lift`, head pose
    undone), frame by frame: {"r", "gain", "reliability"}, NaN when the actor's corners barely
    moved or, given `actor_reread` (as in `expression_carried`), when the two readings of the
    actor's lift agree at less than MIN_RELIABILITY."""
    a = smile_lift(actor, actor_neutral)
    o = smile_lift(output, output_neutral)
    reliable = (
        None
        if actor_reread is None
        else reliability(a[:, None], smile_lift(actor_reread, actor_neutral)[:, None])
    )
    if not _readable(reliable, 0):
        return {"r": float("nan"), "gain": float("nan"), "reliability": float(reliable[0])}
    return {
        "r": pearson_r(a, o, min_actor_std=MIN_ACTOR_STD),
        "gain": gain(a, o, min_actor_std=MIN_ACTOR_STD),
        "reliability": float("nan") if reliable is None else float(reliable[0]),
    }
