"""A controlled head measure: the portrait's own neutral face, turned by known angles, drives the
portrait through the live path; the output is re-tracked.

Why: `head_r` compares the output's pose with the driver's tracked pose, and that pose is not
the truth. The face mesh reads an opening jaw as the head tilting back, which the live loop takes
out of the nod (`head.jaw_decouple`), so an output that nods correctly is scored against
a reference that bobs with the lips. `head_r` is also a correlation: a nod drawn at half its
angle scores as well as one drawn whole. Here the asked pose is known, so both the direction
and the size of the drawn nod and turn are measured:

- each of SWEEP's (pitch, yaw) in degrees turns the portrait's neutral landmarks rigidly (about
  the point a head turns about, `head_motion.turn_centre`) and goes through a `Reenactor`
  (fusion, head motion with the run's `stream.head_*` settings, the renderer, the composite;
  smoothing off and the head motion restarted for each pose, so every pose stands alone);
- the output frame is re-tracked (static mode) and its pose taken relative to the output for
  (0, 0); the asked pose is read the same way from the turned landmarks;
- per axis, `head_sweep_<axis>_gain` is the slope of seen on asked over that axis's poses
  (1.0: the output nods or turns by the actor's angle) and r their Pearson r; `head_sweep_r` is
  the mean r over the two axes. The unchanged target (`identity`) gains 0, and so does any
  renderer with `head.motion: off`.

What a gain under 1 means here: the drawing is not short (optical flow shows the face inside
its outline moving with the drawn motion); the outline moves less, as it lies in the paste mask's
feather (`reenact.pipeline.composite`), but it is not what the re-tracker misses (a paste mask
moved with the drawn face leaves both gains where they were): the re-tracker reads a face
turning inside a still head of hair. A wider paste mask (`GROW`) drags more of the hair and ears
along and costs self-reenactment more than it gains the turn.
A head that turns whole needs its hair and ears redrawn, not a wider paste.
"""

from __future__ import annotations

import numpy as np

from reenact.config import Config, replace
from reenact_lab.metrics.landmarks import head_angles
from reenact_lab.metrics.series import gain, nanmean, pearson_r
from reenact.pipeline.head_motion import HeadPose, turn_centre
from reenact.pipeline.timing import StageTimer

AXES = ("pitch", "yaw")
# (pitch, yaw) degrees: each axis alone, both signs, within head.max_deg's default 18
SWEEP = (
    (0.0, 0.0),
    (-10.0, 0.0),
    (-5.0, 0.0),
    (5.0, 0.0),
    (10.0, 0.0),
    (0.0, -10.0),
    (0.0, -5.0),
    (0.0, 5.0),
    (0.0, 10.0),
)


def sweep_head(target, renderer, fuser, config: Config, retracker) -> dict:
    """Drive `target` (PreparedTarget) with SWEEP through `renderer`; `retracker`: a static
    FaceTracker. {"head_sweep_r", "head_sweep_pitch_gain", "head_sweep_yaw_gain", "asked":
    (N,2), "seen": (N,2) (NaN rows where no face was re-tracked), "axes": {axis: {"r",
    "gain"}}, "faces": N output crops (for a strip; not JSON)}."""
    from reenact.pipeline.reenactor import Reenactor, Tracked

    config = replace(config, smoothing={"enabled": False})
    neutral = target.landmarks_crop
    centre = turn_centre(neutral)
    reenactor = Reenactor(
        config=config,
        target=target,
        fuser=fuser,
        renderer=renderer,
        timer=StageTimer(),
        source_neutral=neutral,
    )
    found, faces, asked = [], [], []
    try:
        for pitch, yaw in SWEEP:
            actor = HeadPose(pitch=pitch, yaw=yaw).turn(neutral, centre).astype(np.float32)
            asked.append(head_angles(neutral, actor)[:2])
            reenactor.motion.head.reset()  # each pose alone: no smoothing or step limit
            output = reenactor.process(target.frame, 0.0, Tracked(actor)).output
            faces.append(target.alignment.crop_image(output))
            found.append(retracker.track_one(output))
    finally:
        reenactor.close()
    seen = np.full((len(SWEEP), 2), np.nan)
    if found[0] is not None:
        for i, face in enumerate(found):
            if face is not None:
                seen[i] = head_angles(found[0], face)[:2]
    asked = np.asarray(asked, np.float64)
    axes = {}
    for i, name in enumerate(AXES):
        rows = [0] + [k for k, pose in enumerate(SWEEP) if pose[i] != 0.0]
        axes[name] = {
            "r": pearson_r(asked[rows, i], seen[rows, i], min_actor_std=1e-3),
            "gain": gain(asked[rows, i], seen[rows, i], min_actor_std=1e-3),
        }
    return {
        "head_sweep_r": nanmean(a["r"] for a in axes.values()),
        **{f"head_sweep_{name}_gain": axes[name]["gain"] for name in AXES},
        "asked": asked.tolist(),
        "seen": seen.tolist(),
        "axes": axes,
        "faces": faces,
    }
