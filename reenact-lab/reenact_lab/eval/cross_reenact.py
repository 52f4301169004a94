"""Cross-reenactment: clip A drives portrait B through the live path, one renderer at a time.

Each renderer gets its own `reenact.pipeline.reenactor.Reenactor` (track A in video mode, align,
One Euro smoothing, neutral from the first `calibration.neutral_frames` frames, fuse onto B, render,
composite) with a `StageTimer`. Only frames the live path actually renders count (not the
calibration frames, nor face-lost hold / fade frames); every renderer sees the same driver frames,
so the same fused landmarks J_gen.

What is measured on each output frame (the composited full frame, i.e. what a viewer gets):

- the *output crop*: the output frame cut with B's own alignment (B's canonical crop), where
  the rendered face sits; used for identity and inter-frame SSIM;
- identity kept: dlib descriptor distance between B's crop and the output crop, both described
  with the canonical face box (`face_box_from_eye_centres(canonical_eye_centres(S))`, no
  detection, so a garbled face still gets a number), every `eval.identity_stride`-th frame;
- expression carried: the output frame re-tracked, mapped into B's crop, against J_gen:
  `metrics.pose_free_error` (mean point distance / IOD of J_gen after a similarity fit on rigid
  points, so that head motion's roll, shift and scale are not counted as expression). The re-tracker runs in *static*
  mode (every output frame detected afresh), the mode B's own landmarks were found in: in video
  mode MediaPipe feeds its last landmarks back as the next region of interest, and on an
  unchanging image that drifts 0.01-0.04 IOD away from the static answer and oscillates (measured
  on the shared portraits), which would bias the error and the jitter of every renderer. Where the
  output's mouth is open wider than the face mesh draws, its lower face is tracked again as B's
  own was (`reenact.landmarks.open_mouth`): a plain track reads a yawning portrait's lower lip
  ~10 px high, under-reading every wider opening drawn on it;
- jitter (`reenact_lab.eval.temporal`): of these re-tracked landmarks, on the driver's stillest
  stretch; the driver's own jitter uses its live (video-mode) track, what the live path receives.

Those are measured on the first `eval.max_frames` frames (the *window*). The live path goes on
driving every frame (the One Euro filters, calibration and head smoothing see every frame) up to
`eval.carried_frames`, and:

- carried (`reenact_lab.eval.viewer.carried`: gaze, head, blinks, expression; Pearson r and slopes)
  over the whole clip: the output re-tracked on `eval.carried_retracks` evenly spaced rendered
  frames only (the gaze's tracking noise on the actor's every frame); the window's values (every
  frame re-tracked) stay as `<key>_window`;
- head_step_excess (`reenact_lab.metrics.head.head_step_excess`): needs consecutive frames, so on the
  window and, past it, on each re-tracked frame and the next one (pairs spread over the clip);
  the actor's frames re-tracked in static mode as the outputs are (the tracker's own noise is
  then in both);
- background_change (`reenact_lab.eval.background`): every rendered frame against the target
  picture outside the head's reach, averaged over frames (8-bit levels).

One renderer's drive is `reenact_lab.eval.drive`; the carried rows (each renderer's, J_gen's and the
driver's own) are `reenact_lab.eval.carried_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reenact.config import Config
from reenact_lab.eval.background import head_reach
from reenact_lab.eval.carried_rows import (
    actor_static,
    carried_all,
    driver_carried,
    fused_carried,
    reread_crop,
)
from reenact.landmarks.clips import TrackedClip
from reenact_lab.eval.drive import DriveResult, IdentityProbe, drive, mean_or_nan
from reenact_lab.eval.renderers import EvalRenderer
from reenact_lab.eval.temporal import TemporalSSIM, jitter_on, still_stretch, temporal_ssim_of
from reenact_lab.eval.tracked import deviation, pick_spread
from reenact.landmarks.tracker import NUM_LANDMARKS


@dataclass
class CrossResult:
    """One (clip, portrait) pair: every renderer's drive and the driver's own figures."""

    clip: str
    portrait: str
    drives: dict[str, DriveResult]
    stretch: tuple[int, int] | None
    driver_temporal: TemporalSSIM
    driver_jitter: float
    strip_frames: list[int]
    carried: dict[str, dict] = field(default_factory=dict)  # per renderer, `eval.viewer.carried`
    driver_carried: dict = field(default_factory=dict)  # the driver's own frames re-tracked
    fused_carried: dict = field(default_factory=dict)  # J_gen itself, before any renderer

    def to_json(self) -> tuple[dict, dict]:
        """(cross-reenactment section, temporal section) for this pair."""
        cross, temporal = {}, {}
        for name, d in self.drives.items():
            errors = d.expression_errors()
            found = [e for e in errors if np.isfinite(e)]
            cross[name] = {
                "identity_distance": mean_or_nan(d.identity),
                "identity_same_person_rate": mean_or_nan([x < 0.6 for x in d.identity]),
                "identity_per_frame": {"frame": d.identity_frames, "distance": d.identity},
                "expression_error": mean_or_nan(found),
                "expression_per_frame": {"frame": d.frames, "error": errors},
                "retrack_rate": len(found) / len(errors) if errors else float("nan"),
                "frames_rendered": len(d.frames),
                "timing_ms": d.timing,
                **self.carried.get(name, {}),
            }
            fused = np.stack(d.fused) if d.fused else np.zeros((0, NUM_LANDMARKS, 3))
            retracked = np.stack(d.retracked) if d.retracked else fused
            temporal[name] = {
                "temporal_ssim": d.temporal.mean,
                "pairs": len(d.temporal.values),
                "jitter": jitter_on(retracked, d.frames, self.stretch),
                "fused_jitter": jitter_on(fused, d.frames, self.stretch),
            }
        return (
            {"clip": self.clip, "portrait": self.portrait, "renderers": cross,
             "fused": self.fused_carried},
            {"clip": self.clip, "portrait": self.portrait,
             "stretch": list(self.stretch) if self.stretch else None,
             "driver": {"temporal_ssim": self.driver_temporal.mean,
                        "pairs": len(self.driver_temporal.values), "jitter": self.driver_jitter,
                        **self.driver_carried},
             "renderers": temporal},
        )


def evaluate_cross(clip: TrackedClip, target, renderers: list[EvalRenderer], fuser,
                   config: Config, *, portrait: str, probe: IdentityProbe,
                   bar=None, actor_known: dict[int, np.ndarray] | None = None) -> CrossResult:
    """Drive `target` (a PreparedTarget named `portrait`) with `clip` through every renderer;
    temporal figures of the outputs and of the driver on the same frames. actor_known: the
    clip's frames already re-tracked in static mode (`carried_rows.actor_static`), shared by
    the portraits one clip drives."""
    calibration = max(1, config.calibration.neutral_frames)
    candidates = [int(i) for i in np.flatnonzero(clip.valid) if i >= calibration]
    good = clip.landmarks_crop[clip.valid]
    neutral = np.median(good[:calibration], axis=0)
    strip_frames = pick_spread(np.array(candidates), deviation(clip.landmarks_crop[candidates],
                                                               neutral), config.eval.strip_frames)
    background = head_reach(target)
    drives = {}
    for item in renderers:
        drives[item.name] = drive(clip, target, item, fuser, config, probe=probe,
                                  keep=set(strip_frames), background=background, bar=bar)
    sampled = sorted(set().union(*(set(d.sampled) for d in drives.values())))
    wanted = set(sampled).union(*(set(d.frames) | set(d.step_frames) for d in drives.values()))
    actor_frames = actor_static(clip, wanted, config, actor_known)
    actor_reread = reread_crop(actor_frames, clip.crops.shape[1])
    carried = {name: {**carried_all(clip, d, neutral, target, actor_frames, actor_reread),
                      "background_fraction": float(background.mean())}
               for name, d in drives.items()}
    common = sorted(set.intersection(*(set(d.frames) for d in drives.values())))
    stretch = still_stretch(clip.landmarks, common, config.eval.still_frames)
    strip_frames = [f for f in strip_frames if all(f in d.strip for d in drives.values())]
    return CrossResult(
        clip=clip.name, portrait=portrait, drives=drives, stretch=stretch,
        driver_temporal=temporal_ssim_of(clip.crops, common),
        driver_jitter=jitter_on(clip.landmarks[common], common, stretch),
        strip_frames=strip_frames, carried=carried,
        driver_carried=driver_carried(clip, sampled, neutral, actor_frames, actor_reread),
        fused_carried=fused_carried(clip, next(iter(drives.values())), neutral, target,
                                    actor_reread),
    )
