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
  on the shared portraits), which would bias the error and the jitter of every renderer;
- jitter (`reenact.eval.temporal`): of these re-tracked landmarks, on the driver's stillest
  stretch; the driver's own jitter uses its live (video-mode) track, what the live path receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reenact.config import Config
from reenact.eval.clips import TrackedClip, deviation, iter_frames, pick_spread
from reenact.landmarks.tracker import NUM_LANDMARKS
from reenact.metrics.landmarks import landmark_error, pose_free_error
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


def drive(clip: TrackedClip, target, item: EvalRenderer, fuser, config: Config, *,
          probe: IdentityProbe, keep: set[int], bar=None) -> DriveResult:
    """Run the live path for one renderer over the clip; measure as the module says."""
    from reenact.landmarks.tracker import FaceTracker
    from reenact.pipeline.reenactor import Reenactor
    from reenact.pipeline.timing import StageTimer

    timer = StageTimer()
    result = DriveResult()
    stride = max(1, config.eval.identity_stride)
    reenactor = Reenactor(config=config, target=target, fuser=fuser, renderer=item.renderer,
                          timer=timer)
    try:
        with FaceTracker(config.tracker, static=True) as retracker:
            for index, image in enumerate(iter_frames(clip.path, config.eval.max_frames)):
                frame = reenactor.process(image, index / clip.fps, None)
                timer.frame_done()
                if bar is not None:
                    bar.update(1)
                if frame.fused is None:  # calibrating, or the face is lost
                    continue
                _measure(result, index, frame.output, frame.fused, target, retracker, probe,
                         sample=len(result.frames) % stride == 0, keep=keep)
    finally:
        reenactor.close()
    result.timing = timer.summary()
    return result


def _measure(result: DriveResult, index: int, output: np.ndarray, fused: np.ndarray, target,
             retracker, probe: IdentityProbe, *, sample: bool, keep: set[int]) -> None:
    crop = target.alignment.crop_image(output)
    found = retracker.track_one(output)
    missing = np.full((NUM_LANDMARKS, 3), np.nan, np.float32)
    retracked = missing if found is None else target.alignment.landmarks_to_crop(found)
    result.retracked_frame.append(missing if found is None else np.array(found, np.float32))
    result.frames.append(index)
    result.fused.append(np.array(fused, np.float32))
    result.retracked.append(retracked)
    result.temporal.add(index, crop)
    if sample:
        result.identity_frames.append(index)
        result.identity.append(probe.distance(crop))
    if index in keep:
        result.strip[index] = crop


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

    def to_json(self) -> tuple[dict, dict]:
        """(cross-reenactment section, temporal section) for this pair."""
        cross, temporal = {}, {}
        for name, d in self.drives.items():
            errors = d.expression_errors()
            found = [e for e in errors if np.isfinite(e)]
            cross[name] = {
                "identity_distance": _mean(d.identity),
                "identity_same_person_rate": _mean([x < 0.6 for x in d.identity]),
                "identity_per_frame": {"frame": d.identity_frames, "distance": d.identity},
                "expression_error": _mean(found),
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
            {"clip": self.clip, "portrait": self.portrait, "renderers": cross},
            {"clip": self.clip, "portrait": self.portrait,
             "stretch": list(self.stretch) if self.stretch else None,
             "driver": {"temporal_ssim": self.driver_temporal.mean,
                        "pairs": len(self.driver_temporal.values), "jitter": self.driver_jitter},
             "renderers": temporal},
        )


def _mean(values) -> float:
    values = [float(v) for v in values]
    return float(np.mean(values)) if values else float("nan")


def evaluate_cross(clip: TrackedClip, target, renderers: list[EvalRenderer], fuser,
                   config: Config, *, portrait: str, probe: IdentityProbe,
                   bar=None) -> CrossResult:
    """Drive `target` (a PreparedTarget named `portrait`) with `clip` through every renderer;
    temporal figures of the outputs and of the driver on the same frames."""
    calibration = max(1, config.stream.neutral_frames)
    candidates = [int(i) for i in np.flatnonzero(clip.valid) if i >= calibration]
    good = clip.landmarks_crop[clip.valid]
    neutral = np.median(good[:calibration], axis=0)
    strip_frames = pick_spread(np.array(candidates), deviation(clip.landmarks_crop[candidates],
                                                               neutral), config.eval.strip_frames)
    drives = {}
    for item in renderers:
        drives[item.name] = drive(clip, target, item, fuser, config, probe=probe,
                                  keep=set(strip_frames), bar=bar)
    carried = {name: _carried(clip, d, neutral, target) for name, d in drives.items()}
    common = sorted(set.intersection(*(set(d.frames) for d in drives.values())))
    stretch = still_stretch(clip.landmarks, common, config.eval.still_frames)
    strip_frames = [f for f in strip_frames if all(f in d.strip for d in drives.values())]
    return CrossResult(
        clip=clip.name, portrait=portrait, drives=drives, stretch=stretch,
        driver_temporal=temporal_ssim_of(clip.crops, common),
        driver_jitter=jitter_on(clip.landmarks[common], common, stretch),
        strip_frames=strip_frames, carried=carried,
    )


def _carried(clip: TrackedClip, d: DriveResult, neutral: np.ndarray, target) -> dict:
    """`reenact.eval.viewer.carried` of one drive: the driver's live track vs the re-tracked
    output, over the rendered frames; neutrals: the driver's calibration median, the portrait's
    own landmarks."""
    from reenact.eval.viewer import carried

    if not d.frames:
        return {}
    empty = np.zeros((0, 478, 3), np.float32)
    return carried(clip.landmarks_crop[d.frames], clip.landmarks[d.frames], neutral,
                   np.stack(d.retracked) if d.retracked else empty,
                   np.stack(d.retracked_frame) if d.retracked_frame else empty,
                   target.landmarks_crop)
