"""A controlled gaze measure: the portrait's own neutral face, irises moved by known amounts,
drives the portrait through the live path; the output is re-tracked.

Why: `gaze_r` needs an actor who looks around, and the held-out clips' first seconds hardly do
(the actor's tracked iris moves by less than its frame-to-frame noise, see
`reenact_lab.metrics.gaze`). Here the asked gaze is known, so the measure can fail only through the
renderer (or the re-tracker reading it):

- each of SWEEP's (along, across) iris offsets, in eye widths, is put on the portrait's own
  neutral landmarks (both irises, rigidly; the upper lids follow the vertical part, as a real
  upper lid rides on the eyeball when one looks up or down) and goes through a `Reenactor`
  (fusion, the eye transfer, the renderer, the composite; smoothing off, so every offset stands
  alone);
- the output frame is re-tracked (static mode) and its iris position (`metrics.gaze`) taken
  relative to the output for (0, 0);
- gaze_sweep_r: Pearson r of re-tracked vs asked, mean over the two axes; gaze_sweep_gain: the
  slope (re-tracked on asked), mean over the axes. The unchanged target scores r = 0, gain = 0.
"""

from __future__ import annotations

import numpy as np

from reenact.config import Config, replace
from reenact.landmarks.head_pose import UPPER_LIDS
from reenact_lab.metrics.gaze import AXES, iris_position
from reenact_lab.metrics.series import gain, nanmean, pearson_r
from reenact.pipeline.timing import StageTimer

# (along, across) eye widths: both axes, both signs, within the eye transfer's gaze limit
SWEEP = (
    (0.0, 0.0),
    (-0.12, 0.0),
    (-0.06, 0.0),
    (0.06, 0.0),
    (0.12, 0.0),
    (0.0, -0.06),
    (0.0, -0.03),
    (0.0, 0.03),
    (0.0, 0.06),
    (-0.1, -0.05),
    (0.1, 0.05),
    (-0.1, 0.05),
    (0.1, -0.05),
)
_IRISES = ((slice(468, 473), (33, 133)), (slice(473, 478), (362, 263)))


def looking(neutral: np.ndarray, along: float, across: float) -> np.ndarray:
    """(478,3) aligned-crop landmarks with both irises moved by (along, across) eye widths
    and the upper lids by `across` (the aligned crop is level: along = x, across = y)."""
    out = np.array(neutral, np.float32, copy=True)
    for eye, (iris, (left, right)) in enumerate(_IRISES):
        width = float(np.hypot(*(neutral[right, :2] - neutral[left, :2])))
        out[iris, 0] += along * width
        out[iris, 1] += across * width
        out[UPPER_LIDS[eye], 1] += across * width
    return out


def eye_square(crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The square of `crop` (S,S,3) around both eyes (side 1.24 x the outer corners'
    distance), for a strip: (n,n,3) uint8."""
    a, b = landmarks[33, :2], landmarks[263, :2]
    half = int(round(0.62 * float(np.hypot(*(b - a)))))
    cx, cy = np.round(0.5 * (a + b)).astype(int)
    size = crop.shape[0]
    x0, y0 = np.clip([cx - half, cy - half], 0, max(size - 2 * half, 0))
    return np.ascontiguousarray(crop[y0 : y0 + 2 * half, x0 : x0 + 2 * half])


def sweep_gaze(target, renderer, fuser, config: Config, retracker) -> dict:
    """Drive `target` (PreparedTarget) with SWEEP through `renderer`; `retracker`: a static
    FaceTracker. {"gaze_sweep_r", "gaze_sweep_gain", "asked": (N,2), "seen": (N,2) (NaN rows
    where no face was re-tracked), "axes": {axis: {"r", "gain"}}, "eyes": N eye squares of the
    output crop (`eye_square`, for a strip; not JSON)}."""
    from reenact.pipeline.reenactor import Reenactor, Tracked

    config = replace(config, smoothing={"enabled": False})
    neutral = target.landmarks_crop
    reenactor = Reenactor(
        config=config,
        target=target,
        fuser=fuser,
        renderer=renderer,
        timer=StageTimer(),
        source_neutral=neutral,
    )
    seen, eyes = [], []
    try:
        for along, across in SWEEP:
            output = reenactor.process(target.frame, 0.0, Tracked(looking(neutral, along, across)))
            eyes.append(eye_square(target.alignment.crop_image(output.output), neutral))
            found = retracker.track_one(output.output)
            seen.append(iris_position(found[None])[0] if found is not None else [np.nan] * 2)
    finally:
        reenactor.close()
    asked = np.asarray(SWEEP, np.float64)
    seen = np.asarray(seen, np.float64) - np.asarray(seen[0], np.float64)
    axes = {
        name: {
            "r": pearson_r(asked[:, i], seen[:, i], min_actor_std=1e-3),
            "gain": gain(asked[:, i], seen[:, i], min_actor_std=1e-3),
        }
        for i, name in enumerate(AXES)
    }
    return {
        "gaze_sweep_r": nanmean(a["r"] for a in axes.values()),
        "gaze_sweep_gain": nanmean(a["gain"] for a in axes.values()),
        "asked": asked.tolist(),
        "seen": seen.tolist(),
        "axes": axes,
        "eyes": eyes,
    }
