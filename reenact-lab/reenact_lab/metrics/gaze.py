"""Gaze and blinks from the 478-point mesh: iris position inside the eye opening, openness.

Iris position of one eye: the iris centre (468 right, 473 left) relative to the midpoint of the
eye's two corners, along the corner-to-corner axis (horizontal, + towards the image right) and
across it (vertical, + down), divided by the eye's width. The two eyes are averaged: (T, 2).
Openness: lid gap over eye width (`openness`), both eyes' mean.

`gaze_carried` compares actor and output iris position, per axis, over the frames where both
faces' eyes are open: openness above OPEN and above OPEN_OF_MEDIAN of the face's own median
openness (a closing lid drags the tracked iris down with it, a tracking artefact, not a glance),
and where the actor's two eyes agree (`eyes_agree`: each eye's iris relative to its own median
over the frames, the two no further apart than MAX_EYE_SPLIT; two eyes look together, so a
frame where one reads 0.12 eye widths up and the other level has one misread, a glasses rim or
a turned head's far eye, and is no ground truth for the output to copy):

- r: Pearson r, mean over the axes the actor moves by MIN_GAZE_STD or more (as before);
- r_moving / gain: Pearson r and slope (output on actor), mean over the axes whose movement
  stands clear of the tracker's own noise: std >= MIN_MOVING_STD and >= MIN_SNR x
  `tracking_noise`. On a clip
  where the actor looks at the camera throughout, the frame-to-frame wobble of the tracked iris
  is as large as the whole series, and r measures how alike two noises are: NaN there;
- actor_std / actor_noise: per axis, what those two decisions were made on.
`blink_carried`: Pearson r of the openness series.
"""

from __future__ import annotations

import numpy as np

from reenact_lab.metrics.series import gain, nanmean, pearson_r

OPEN = 0.15  # openness above this: the iris is visible enough to locate
OPEN_OF_MEDIAN = 0.7  # ... and above this fraction of the face's median openness (not closing)
MIN_GAZE_STD = 0.01  # eye widths: an actor whose iris moves less did not look around
# r_moving / gain count an axis only when the actor's gaze std is at least MIN_MOVING_STD eye
# widths (~0.6 px on a 30 px eye at 256: below it a rendered iris moves by less than the
# re-tracker resolves) and MIN_SNR times its frame-to-frame tracking noise
MIN_MOVING_STD = 0.02
MIN_SNR = 2.5
MIN_OPENNESS_STD = 0.02  # an actor whose openness varies less did not blink
# (along, across) eye widths: the actor's two eyes, each against its own median, further apart
# than this disagree (frontal clips stay under about 0.05 across and 0.15 along, a turned
# head's far eye reads glances larger along)
MAX_EYE_SPLIT = (0.3, 0.12)
AXES = ("horizontal", "vertical")

# (image-left corner, image-right corner, iris centre, upper lid, lower lid) per eye
_EYES = ((33, 133, 468, 159, 145), (362, 263, 473, 386, 374))


def _xy(landmarks) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape[-2:] not in ((478, 2), (478, 3)):
        raise ValueError(f"landmarks must be (..., 478, 2|3), got {points.shape}")
    return points[..., :2]


def iris_positions(landmarks) -> np.ndarray:
    """(..., 478, 2|3) -> (..., 2, 2): per eye (image-left first), (horizontal, vertical) iris
    offset in eye widths."""
    p = _xy(landmarks)
    out = []
    for left, right, iris, _, _ in _EYES:
        axis = p[..., right, :] - p[..., left, :]
        width = np.maximum(np.linalg.norm(axis, axis=-1), 1e-6)
        u = axis / width[..., None]
        n = np.stack([-u[..., 1], u[..., 0]], axis=-1)  # u rotated +90 deg: down for u = (1, 0)
        offset = p[..., iris, :] - 0.5 * (p[..., left, :] + p[..., right, :])
        out.append(
            np.stack([(offset * u).sum(-1), (offset * n).sum(-1)], axis=-1) / width[..., None]
        )
    return np.stack(out, axis=-2)


def iris_position(landmarks) -> np.ndarray:
    """(..., 478, 2|3) -> (..., 2): (horizontal, vertical) iris offset in eye widths, the two
    eyes' mean."""
    return iris_positions(landmarks).mean(axis=-2)


def openness(landmarks) -> np.ndarray:
    """(..., 478, 2|3) -> (...,): mean over both eyes of lid gap / eye width (~0.3 open)."""
    p = _xy(landmarks)
    values = [
        np.linalg.norm(p[..., up, :] - p[..., low, :], axis=-1)
        / np.maximum(np.linalg.norm(p[..., r, :] - p[..., l, :], axis=-1), 1e-6)
        for l, r, _, up, low in _EYES
    ]
    return 0.5 * (values[0] + values[1])


def eyes_open(landmarks) -> np.ndarray:
    """(T, 478, 2|3) -> (T,) bool: open enough that the tracked iris is a gaze (see module)."""
    value = openness(landmarks)
    finite = value[np.isfinite(value)]
    median = float(np.median(finite)) if len(finite) else 0.0
    with np.errstate(invalid="ignore"):
        return (value > OPEN) & (value > OPEN_OF_MEDIAN * median)


def eyes_agree(landmarks) -> np.ndarray:
    """(T, 478, 2|3) -> (T,) bool: the two eyes' iris positions, each relative to its own median
    over the open-eyed frames, no further apart than MAX_EYE_SPLIT on either axis (see module).
    All True when no frame has open eyes (nothing to compare against)."""
    each = iris_positions(landmarks)
    opened = eyes_open(landmarks)
    if not opened.any():
        return np.ones(len(each), bool)
    split = np.abs(np.diff(each - np.nanmedian(each[opened], axis=0), axis=-2))[..., 0, :]
    with np.errstate(invalid="ignore"):
        return (split <= np.asarray(MAX_EYE_SPLIT)).all(axis=-1)


def tracking_noise(series) -> float:
    """Robust frame-to-frame noise of a 1-D series (NaN gaps skipped): 1.4826 x the median
    absolute deviation of its consecutive differences, over sqrt(2). A few glances (jumps) do
    not raise it; a white-noise series gets about its own std. NaN with fewer than 3 steps."""
    x = np.asarray(series, np.float64)
    steps = np.diff(x)
    steps = steps[np.isfinite(steps)]
    if len(steps) < 3:
        return float("nan")
    return float(1.4826 * np.median(np.abs(steps - np.median(steps))) / np.sqrt(2.0))


def gaze_carried(actor, output, noise_from=None) -> dict:
    """actor, output: (T, 478, 2|3) of the same frames. {"r", "r_moving", "gain",
    "horizontal", "vertical", "actor_std", "actor_noise"} as the module says.

    r and gain need no consecutive frames (evenly spaced frames of a clip estimate them), the
    tracking noise does: noise_from (T', 478, 2|3), the actor's landmarks on consecutive frames
    to measure it on (None = `actor`, which must then be consecutive frames)."""
    a, o = iris_position(actor), iris_position(output)
    a = np.where((eyes_open(actor) & eyes_agree(actor) & eyes_open(output))[:, None], a, np.nan)
    consecutive = (
        a
        if noise_from is None
        else np.where(eyes_open(noise_from)[:, None], iris_position(noise_from), np.nan)
    )
    axes, moving, gains, stds, noises = {}, [], [], [], []
    for i, name in enumerate(AXES):
        axes[name] = pearson_r(a[:, i], o[:, i], min_actor_std=MIN_GAZE_STD)
        both = np.isfinite(a[:, i]) & np.isfinite(o[:, i])
        std = float(a[both, i].std()) if both.sum() >= 3 else float("nan")
        noise = tracking_noise(consecutive[:, i])
        stds.append(std)
        noises.append(noise)
        if std >= MIN_MOVING_STD and std >= MIN_SNR * noise:
            moving.append(axes[name])
            gains.append(gain(a[:, i], o[:, i], min_actor_std=MIN_GAZE_STD))
    return {
        "r": nanmean(axes.values()),
        "r_moving": nanmean(moving),
        "gain": nanmean(gains),
        **axes,
        "actor_std": stds,
        "actor_noise": noises,
    }


def blink_carried(actor, output) -> float:
    """Pearson r of the actor's and the output's eye openness, (T, 478, 2|3) each."""
    return pearson_r(openness(actor), openness(output), min_actor_std=MIN_OPENNESS_STD)
