"""Cross-reenactment: clip A drives portrait B through the live path, one renderer at a time.

Each renderer gets its own `reenact.pipeline.reenactor.Reenactor` (track A in video mode, align,
One Euro smoothing, neutral from the first `stream.neutral_frames` frames, fuse onto B, render,
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
- jitter (`reenact.eval.temporal`): of these re-tracked landmarks, on the driver's stillest
  stretch; the driver's own jitter uses its live (video-mode) track, what the live path receives.

Those are measured on the first `eval.max_frames` frames (the *window*). The live path goes on
driving every frame (the One Euro filters, calibration and head smoothing see every frame) up to
`eval.carried_frames`, and:

- carried (`reenact.eval.viewer.carried`: gaze, head, blinks, expression; Pearson r and slopes)
  over the whole clip: the output re-tracked on `eval.carried_retracks` evenly spaced rendered
  frames only (the gaze's tracking noise on the actor's every frame); the window's values (every
  frame re-tracked) stay as `<key>_window`;
- head_step_excess (`reenact.metrics.head.head_step_excess`): needs consecutive frames, so on the
  window and, past it, on each re-tracked frame and the next one (pairs spread over the clip);
  the actor's frames re-tracked in static mode as the outputs are (the tracker's own noise is
  then in both);
- background_change (`reenact.eval.background`): every rendered frame against the target
  picture outside the head's reach, averaged over frames (8-bit levels).

The carried rows (each renderer's, J_gen's and the driver's own) are `reenact.eval.carried_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reenact.config import Config
from reenact.eval.background import background_change, head_reach
from reenact.eval.carried_rows import (
    actor_static, carried_all, driver_carried, fused_carried, mean_or_nan, or_missing,
    reread_crop, whole_frames,
)
from reenact.eval.clips import TrackedClip, deviation, iter_frames, pick_spread
from reenact.landmarks.tracker import NUM_LANDMARKS
from reenact.metrics.landmarks import pose_free_error
from reenact.eval.renderers import EvalRenderer
from reenact.eval.temporal import TemporalSSIM, jitter_on, still_stretch, temporal_ssim_of


@dataclass
class DriveResult:
    """One renderer driven by one clip onto one portrait. N rendered frames.

    frames: (N,) clip frame indices; fused: (N,478,3) J_gen in B's crop pixels; retracked:
    (N,478,3) the output re-tracked, in B's crop pixels (NaN where no face was found).
    """

    frames: list[int] = field(default_factory=list)
    fused: list[np.ndarray] = field(default_factory=list)
    retracked: list[np.ndarray] = field(default_factory=list)
    retracked_frame: list[np.ndarray] = field(default_factory=list)  # output-frame pixels
    identity_frames: list[int] = field(default_factory=list)
    identity: list[float] = field(default_factory=list)
    temporal: TemporalSSIM = field(default_factory=TemporalSSIM)
    strip: dict[int, np.ndarray] = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    # the whole clip: evenly spaced rendered frames re-tracked (crop / frame pixels, NaN where no
    # face); the background change of every rendered frame
    sampled: list[int] = field(default_factory=list)
    sampled_crop: list[np.ndarray] = field(default_factory=list)
    sampled_frame: list[np.ndarray] = field(default_factory=list)
    sampled_fused: list[np.ndarray] = field(default_factory=list)  # J_gen there, crop pixels
    background: list[float] = field(default_factory=list)
    # past the window, each re-tracked frame and the next one: (frame, frame-pixel landmarks)
    step_frames: list[int] = field(default_factory=list)
    step_landmarks: list[np.ndarray] = field(default_factory=list)

    def expression_errors(self) -> list[float]:
        """Per rendered frame: landmark error of the re-tracked output vs J_gen with the head's
        pose removed (`pose_free_error`: head motion moves the output's head on purpose), NaN
        where the face was lost."""
        return [pose_free_error(r, f) if np.isfinite(r).all() else float("nan")
                for r, f in zip(self.retracked, self.fused)]


@dataclass
class IdentityProbe:
    """dlib descriptors on B's canonical crop: `embedder`, its `box`, and B's own descriptor."""

    embedder: object
    box: tuple[int, int, int, int]
    reference: np.ndarray

    def distance(self, crop: np.ndarray) -> float:
        descriptor = self.embedder.embed_aligned_crop(crop, self.box)
        return self.embedder.distance(self.reference, descriptor)


def make_probe(embedder, target) -> IdentityProbe:
    """The identity probe of a prepared target (`reenact.pipeline.target.PreparedTarget`)."""
    from reenact.eval.identity import face_box_from_eye_centres
    from reenact.landmarks.align import canonical_eye_centres

    box = face_box_from_eye_centres(canonical_eye_centres(target.alignment.size))
    return IdentityProbe(embedder, box, embedder.embed_aligned_crop(target.crop, box))


def carried_sample(total: int, config: Config) -> set[int]:
    """The frames re-tracked for the whole-clip carried measures: `eval.carried_retracks`
    evenly spaced over [stream.neutral_frames, total) (calibration renders nothing before)."""
    first = max(1, config.stream.neutral_frames)
    if total <= first:
        return set()
    return {int(i) for i in np.round(np.linspace(first, total - 1, config.eval.carried_retracks))}


def drive(clip: TrackedClip, target, item: EvalRenderer, fuser, config: Config, *,
          probe: IdentityProbe, keep: set[int], background: np.ndarray | None = None,
          bar=None) -> DriveResult:
    """Run the live path for one renderer over the clip; measure as the module says.

    background: (H,W) bool, the target frame's pixels outside the head's reach (None = skip)."""
    from reenact.landmarks.tracker import FaceTracker
    from reenact.pipeline.reenactor import Reenactor
    from reenact.pipeline.timing import StageTimer

    timer = StageTimer()
    result = DriveResult()
    stride = max(1, config.eval.identity_stride)
    window, total = config.eval.max_frames, whole_frames(clip)
    sample = carried_sample(total, config)
    reenactor = Reenactor(config=config, target=target, fuser=fuser, renderer=item.renderer,
                          timer=timer)
    try:
        with FaceTracker(config.tracker, static=True) as retracker:
            for index, image in enumerate(iter_frames(clip.path, total)):
                frame = reenactor.process(image, index / clip.fps, None)
                timer.frame_done()
                if bar is not None:
                    bar.update(1)
                if frame.fused is None:  # calibrating, or the face is lost
                    continue
                if background is not None:
                    result.background.append(background_change(frame.output, target.frame,
                                                               background))
                found = None
                if window == 0 or index < window:
                    found = _measure(result, index, frame.output, frame.fused, target,
                                     retrack_output(retracker, frame.output, config), probe,
                                     sample=len(result.frames) % stride == 0, keep=keep)
                elif index in sample or index - 1 in sample:
                    found = retrack_output(retracker, frame.output, config)
                    result.step_frames.append(index)
                    result.step_landmarks.append(or_missing(found))
                if index in sample:
                    _keep_sample(result, index, found, target, frame.fused)
    finally:
        reenactor.close()
    result.timing = timer.summary()
    return result


def _keep_sample(result: DriveResult, index: int, found, target, fused: np.ndarray) -> None:
    result.sampled.append(index)
    result.sampled_fused.append(np.array(fused, np.float32))
    result.sampled_frame.append(or_missing(found))
    result.sampled_crop.append(or_missing(found) if found is None
                               else target.alignment.landmarks_to_crop(found))


def retrack_output(retracker, output: np.ndarray, config: Config) -> np.ndarray | None:
    """The output frame re-tracked as its target picture was (`reenact.pipeline.target`): a
    static track, its lower face tracked again where the mouth is open wider than the face mesh
    draws (`reenact.landmarks.open_mouth`; the target's own landmarks, the output's neutral, were
    found so). (478,3) frame pixels, or None where no face was found."""
    from reenact.landmarks.open_mouth import retrack_open_mouth

    found = retracker.track_one(output)
    return None if found is None else retrack_open_mouth(output, found, config.tracker,
                                                         retracker)


def _measure(result: DriveResult, index: int, output: np.ndarray, fused: np.ndarray, target,
             found: np.ndarray | None, probe: IdentityProbe, *, sample: bool, keep: set[int]):
    """The window's measures of one rendered frame, `found` its re-tracked (478,3) frame
    landmarks (None where no face was found); returns `found`."""
    crop = target.alignment.crop_image(output)
    retracked = or_missing(None) if found is None else target.alignment.landmarks_to_crop(found)
    result.retracked_frame.append(or_missing(found))
    result.frames.append(index)
    result.fused.append(np.array(fused, np.float32))
    result.retracked.append(retracked)
    result.temporal.add(index, crop)
    if sample:
        result.identity_frames.append(index)
        result.identity.append(probe.distance(crop))
    if index in keep:
        result.strip[index] = crop
    return found


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
    calibration = max(1, config.stream.neutral_frames)
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
