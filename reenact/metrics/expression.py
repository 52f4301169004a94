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

Head pose is not expression. The features are image-plane distances, so a head that turns or
nods changes them with no expression at all: a yaw of 10 degrees narrows the far eye and lowers
the far brow in the picture, and a driver filmed in three-quarter view (pcavs_00010) reads about
half of its brow "expression" from its turns (raw vs pose-undone brow: slope 0.21-0.46, r 0.39
for one brow). So, given 3-D landmarks, each frame first has its rigid head motion relative to
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
"""

from __future__ import annotations

import numpy as np

from reenact.landmarks.expressiveness import FEATURES, lift, relative
from reenact.landmarks.head_pose import undo_pose
from reenact.metrics.series import gain, nanmean, pearson_r

MIN_ACTOR_STD = 0.02  # relative units: below this a feature did not move (tracker noise ~0.005)


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
        points = pose_undone(points.reshape(-1, *points.shape[-2:]), reference) \
            .reshape(points.shape)
    return points, reference


def relative_features(landmarks, neutral, *, pose_free: bool = True) -> np.ndarray:
    """(T, 478, 2|3) and the face's neutral (478, 2|3) -> (T, 6): change over region size
    (the features and sizes of `reenact.landmarks.expressiveness`, one definition). pose_free:
    with 3-D landmarks, read them with the head pose undone (module docstring); 2-D landmarks
    are read as they are (their features are already free of roll, shift and scale)."""
    points, reference = _read(landmarks, neutral, pose_free)
    return relative(points, reference)


def _carried(a: np.ndarray, o: np.ndarray) -> dict:
    per = {name: {"r": pearson_r(a[:, i], o[:, i], min_actor_std=MIN_ACTOR_STD),
                  "gain": gain(a[:, i], o[:, i], min_actor_std=MIN_ACTOR_STD)}
           for i, name in enumerate(FEATURES)}
    return {"r": nanmean(v["r"] for v in per.values()),
            "gain": nanmean(v["gain"] for v in per.values()), "features": per}


def expression_carried(actor, actor_neutral, output, output_neutral) -> dict:
    """How the output's expression follows the actor's, frame by frame.

    actor, output: (T, 478, 2|3) landmarks of the same T frames (NaN rows where the output was
    not re-tracked); actor_neutral, output_neutral: (478, 2|3) each face's own neutral.
    Returns {"r": float, "gain": float, "features": {name: {"r", "gain"}}}, the head pose
    undone (module docstring), and "r_2d", "gain_2d", "features_2d" read in the image plane;
    NaN when no feature moved in the actor.
    """
    found = _carried(relative_features(actor, actor_neutral),
                     relative_features(output, output_neutral))
    flat = _carried(relative_features(actor, actor_neutral, pose_free=False),
                    relative_features(output, output_neutral, pose_free=False))
    return found | {"r_2d": flat["r"], "gain_2d": flat["gain"], "features_2d": flat["features"]}


def smile_lift(landmarks, neutral, *, pose_free: bool = True) -> np.ndarray:
    """(T, 478, 2|3) and the face's neutral (478, 2|3) -> (T,): how far the mouth corners rose
    from the neutral's, over its mouth width (module docstring); NaN where a frame is NaN."""
    return lift(*_read(landmarks, neutral, pose_free))


def smile_carried(actor, actor_neutral, output, output_neutral) -> dict:
    """How the output's mouth corners rise and fall with the actor's (`smile_lift`, head pose
    undone), frame by frame: {"r", "gain"}, NaN when the actor's corners barely moved."""
    a = smile_lift(actor, actor_neutral)
    o = smile_lift(output, output_neutral)
    return {"r": pearson_r(a, o, min_actor_std=MIN_ACTOR_STD),
            "gain": gain(a, o, min_actor_std=MIN_ACTOR_STD)}
