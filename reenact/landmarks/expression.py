"""Interpretable expression features of one face, and scores that find an expression by them.

Features are measured on (478,2|3) landmarks in any pixel frame and expressed in inter-ocular
units (IOD: distance between the eye centres, each the mean of its two corners), so they compare
across faces and crop sizes. Image y grows downwards.

    mouth_open    inner-lip gap (13-14)
    mouth_width   outer mouth corners (61-291)
    corner_lift   how far the corners sit above the lips' centre (+ = corners up, a smile)
    lip_height    outer upper lip top (0) to lower lip bottom (17)
    eye_left      subject's left lid gap (386-374); eye_right: 159-145
    brow_left     subject's left brow above its upper lid (mean over the brow's points)
    brow_right    the same for the right brow
    brow_gap      inner brow ends (107-336): smaller when frowning

`class_scores(expression - neutral)` turns feature deltas into one score per expression class:
positive and large where the face shows that class. They are simple sums of the deltas that
the class moves, used to pick frames of a clip (pout, angry, ...), not a classifier.
"""

from __future__ import annotations

import numpy as np

from reenact.landmarks.regions import REGIONS

FEATURES = (
    "mouth_open",
    "mouth_width",
    "corner_lift",
    "lip_height",
    "eye_left",
    "eye_right",
    "brow_left",
    "brow_right",
    "brow_gap",
)
CLASSES = ("smile", "surprise", "wink", "pout", "angry", "sad")
_LEFT_UPPER_LID = REGIONS["left_eye"][1:8]
_RIGHT_UPPER_LID = REGIONS["right_eye"][1:8]


def _iod(lm: np.ndarray) -> float:
    left = (lm[263, :2] + lm[362, :2]) / 2
    right = (lm[33, :2] + lm[133, :2]) / 2
    return max(float(np.hypot(*(left - right))), 1e-6)


def _d(lm: np.ndarray, a: int, b: int) -> float:
    return float(np.hypot(*(lm[a, :2] - lm[b, :2])))


def expression_features(landmarks: np.ndarray) -> np.ndarray:
    """(478,2|3) pixels -> (len(FEATURES),) float64 in inter-ocular units (order of FEATURES)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    iod = _iod(lm)
    lip_centre_y = (lm[13, 1] + lm[14, 1]) / 2
    values = (
        _d(lm, 13, 14),
        _d(lm, 61, 291),
        lip_centre_y - (lm[61, 1] + lm[291, 1]) / 2,
        _d(lm, 0, 17),
        _d(lm, 386, 374),
        _d(lm, 159, 145),
        lm[_LEFT_UPPER_LID, 1].mean() - lm[REGIONS["left_brow"], 1].mean(),
        lm[_RIGHT_UPPER_LID, 1].mean() - lm[REGIONS["right_brow"], 1].mean(),
        _d(lm, 107, 336),
    )
    return np.asarray(values, dtype=np.float64) / iod


def feature_deltas(landmarks: np.ndarray, neutral: np.ndarray) -> dict[str, float]:
    """Feature of `landmarks` minus that of `neutral`, by name (inter-ocular units)."""
    delta = expression_features(landmarks) - expression_features(neutral)
    return dict(zip(FEATURES, (float(v) for v in delta)))


def class_scores(d: dict[str, float]) -> dict[str, float]:
    """One score per class in CLASSES from feature deltas (`feature_deltas`); ~0 at neutral.

    smile: wider mouth, corners up. surprise: mouth, brows and eyes open. wink: one eye closes
    while the other stays open. pout: narrower, closed, taller lips. angry: brows down and
    together, mouth not smiling. sad: corners down, brows not lowered."""
    brows = d["brow_left"] + d["brow_right"]
    eyes_closed = (-d["eye_left"], -d["eye_right"])
    return {
        "smile": d["mouth_width"] + 0.5 * d["corner_lift"] - 0.5 * max(d["mouth_open"] - 0.15, 0),
        "surprise": min(d["mouth_open"], 0.6) + brows + 0.5 * (d["eye_left"] + d["eye_right"]),
        "wink": max(eyes_closed) - 2.0 * max(min(eyes_closed), 0.0) - 0.5 * abs(d["mouth_open"]),
        "pout": -d["mouth_width"] + 0.5 * d["lip_height"] - 2.0 * max(d["mouth_open"], 0.0),
        "angry": -brows - 2.0 * d["brow_gap"] - max(d["mouth_width"], 0.0),
        "sad": -d["corner_lift"] - max(d["mouth_width"], 0.0) - max(-brows, 0.0),
    }
