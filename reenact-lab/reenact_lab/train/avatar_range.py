"""What expressions the clips show: an avatar learns only what its video shows, so a recording
without a wide-open mouth, a blink, moving brows or a head turn is told what to add.

Measured on the aligned landmarks (crop pixels, eyes at fixed places, so one scale for all):
mouth opening (inner lip gap over mouth width), eye opening (lid gap, least over the frames
against the median), brow height over the eyes (in inter-ocular distances, its 5-95 % spread),
and head yaw (its spread, degrees). The thresholds and the figures that chose them are in
docs/experiments/2026-11-27-avatar-training.md.
"""

from __future__ import annotations

import numpy as np

from reenact.landmarks.align import eye_centres
from reenact.landmarks.open_mouth import mouth_opening
from reenact.landmarks.scripted import BROWS
from reenact.landmarks.tracker import head_yaw_deg
from reenact.render.eyes import eye_opening

WIDE_MOUTH = 0.35  # inner-lip gap / mouth width: talking stays under it, a wide-open mouth not
BLINK = 0.45  # least eye opening / its median: a blink closes the lids below this
BROW_SPREAD = 0.04  # inter-ocular distances of brow travel (5-95 %): brows raised and lowered
YAW_SPREAD = 12.0  # degrees of head yaw (5-95 %): a slow head turn


def expression_range(landmarks: np.ndarray) -> dict[str, float]:
    """(N,478,3) aligned landmarks -> the four measures (see the module docstring)."""
    mouth = np.array([mouth_opening(lm) for lm in landmarks])
    eyes = np.array([[eye_opening(lm, e) for e in (0, 1)] for lm in landmarks]).mean(axis=1)
    centres = np.array([eye_centres(lm) for lm in landmarks])  # (N,2,2)
    iod = np.linalg.norm(centres[:, 1] - centres[:, 0], axis=1)
    brows = np.concatenate([BROWS["left"], BROWS["right"]])
    height = (centres[:, :, 1].mean(axis=1) - landmarks[:, brows, 1].mean(axis=1)) / iod
    yaw = np.array([head_yaw_deg(lm) for lm in landmarks])
    median_eye = max(float(np.median(eyes)), 1e-6)
    return {
        "mouth_open_max": round(float(np.percentile(mouth, 98)), 3),
        "eye_open_min": round(float(np.percentile(eyes, 2)) / median_eye, 3),
        "brow_spread": round(float(np.ptp(np.percentile(height, [5, 95]))), 4),
        "yaw_spread_deg": round(float(np.ptp(np.percentile(yaw, [5, 95]))), 1),
    }


def missing_expressions(measures: dict[str, float]) -> list[str]:
    """One line per expression the clips lack, saying what to record."""
    lines = []
    if measures["mouth_open_max"] < WIDE_MOUTH:
        lines.append("no wide-open mouth seen: record a wide-open mouth (and teeth in a smile)")
    if measures["eye_open_min"] > BLINK:
        lines.append("no blink seen: record a few slow blinks")
    if measures["brow_spread"] < BROW_SPREAD:
        lines.append("little brow movement seen: record brows raised and lowered")
    if measures["yaw_spread_deg"] < YAW_SPREAD:
        lines.append("no head turn seen: record a slow turn of the head to each side")
    return lines
