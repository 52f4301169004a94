"""Gaze and blinks from the 478-point mesh: iris position inside the eye opening, openness.

Iris position of one eye: the iris centre (468 right, 473 left) relative to the midpoint of the
eye's two corners, along the corner-to-corner axis (horizontal, + towards the image right) and
across it (vertical, + down), divided by the eye's width. The two eyes are averaged: (T, 2).
Openness: lid gap over eye width (`reenact.landmarks.regions.eye_open_ratio`), both eyes' mean.

`gaze_carried`: Pearson r of actor vs output iris position, per axis, over frames where both the
actor's and the output's eyes are open (openness > OPEN); mean over the axes the actor moves.
`blink_carried`: Pearson r of the openness series.
"""

from __future__ import annotations

import numpy as np

from reenact.metrics.series import nanmean, pearson_r

OPEN = 0.15  # openness above this: the iris is visible enough to locate
MIN_GAZE_STD = 0.01  # eye widths: an actor whose iris moves less did not look around
MIN_OPENNESS_STD = 0.02  # an actor whose openness varies less did not blink

# (image-left corner, image-right corner, iris centre, upper lid, lower lid) per eye
_EYES = ((33, 133, 468, 159, 145), (362, 263, 473, 386, 374))


def _xy(landmarks) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape[-2:] not in ((478, 2), (478, 3)):
        raise ValueError(f"landmarks must be (..., 478, 2|3), got {points.shape}")
    return points[..., :2]


def iris_position(landmarks) -> np.ndarray:
    """(..., 478, 2|3) -> (..., 2): (horizontal, vertical) iris offset in eye widths."""
    p = _xy(landmarks)
    out = []
    for left, right, iris, _, _ in _EYES:
        axis = p[..., right, :] - p[..., left, :]
        width = np.maximum(np.linalg.norm(axis, axis=-1), 1e-6)
        u = axis / width[..., None]
        n = np.stack([-u[..., 1], u[..., 0]], axis=-1)  # u rotated +90 deg: down for u = (1, 0)
        offset = p[..., iris, :] - 0.5 * (p[..., left, :] + p[..., right, :])
        out.append(np.stack([(offset * u).sum(-1), (offset * n).sum(-1)], axis=-1)
                   / width[..., None])
    return 0.5 * (out[0] + out[1])


def openness(landmarks) -> np.ndarray:
    """(..., 478, 2|3) -> (...,): mean over both eyes of lid gap / eye width (~0.3 open)."""
    p = _xy(landmarks)
    values = [np.linalg.norm(p[..., up, :] - p[..., low, :], axis=-1)
              / np.maximum(np.linalg.norm(p[..., r, :] - p[..., l, :], axis=-1), 1e-6)
              for l, r, _, up, low in _EYES]
    return 0.5 * (values[0] + values[1])


def gaze_carried(actor, output) -> dict:
    """actor, output: (T, 478, 2|3) of the same frames. {"r", "horizontal", "vertical"}."""
    a, o = iris_position(actor), iris_position(output)
    open_ = (openness(actor) > OPEN) & (openness(output) > OPEN)
    a = np.where(open_[:, None], a, np.nan)
    axes = {name: pearson_r(a[:, i], o[:, i], min_actor_std=MIN_GAZE_STD)
            for i, name in enumerate(("horizontal", "vertical"))}
    return {"r": nanmean(axes.values()), **axes}


def blink_carried(actor, output) -> float:
    """Pearson r of the actor's and the output's eye openness, (T, 478, 2|3) each."""
    return pearson_r(openness(actor), openness(output), min_actor_std=MIN_OPENNESS_STD)
