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

`expression_carried` compares the actor's and the output's relative features frame by frame:
`r` is the mean over features of the Pearson r, `gain` the mean regression slope (output on
actor; 1.0 = moves as much as the actor). Features the actor barely moves are left out.
"""

from __future__ import annotations

import numpy as np

from reenact.landmarks.expressiveness import FEATURES, relative
from reenact.metrics.series import gain, nanmean, pearson_r

MIN_ACTOR_STD = 0.02  # relative units: below this a feature did not move (tracker noise ~0.005)


def _checked(landmarks) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape[-2:] not in ((478, 2), (478, 3)):
        raise ValueError(f"landmarks must be (..., 478, 2|3), got {points.shape}")
    return points


def relative_features(landmarks, neutral) -> np.ndarray:
    """(T, 478, 2|3) and the face's neutral (478, 2|3) -> (T, 6): change over region size
    (the features and sizes of `reenact.landmarks.expressiveness`, one definition)."""
    return relative(_checked(landmarks), _checked(neutral))


def expression_carried(actor, actor_neutral, output, output_neutral) -> dict:
    """How the output's expression follows the actor's, frame by frame.

    actor, output: (T, 478, 2|3) landmarks of the same T frames (NaN rows where the output was
    not re-tracked); actor_neutral, output_neutral: (478, 2|3) each face's own neutral.
    Returns {"r": float, "gain": float, "features": {name: {"r", "gain"}}}; NaN when no feature
    moved in the actor.
    """
    a = relative_features(actor, actor_neutral)
    o = relative_features(output, output_neutral)
    per = {name: {"r": pearson_r(a[:, i], o[:, i], min_actor_std=MIN_ACTOR_STD),
                  "gain": gain(a[:, i], o[:, i], min_actor_std=MIN_ACTOR_STD)}
           for i, name in enumerate(FEATURES)}
    return {"r": nanmean(v["r"] for v in per.values()),
            "gain": nanmean(v["gain"] for v in per.values()), "features": per}
