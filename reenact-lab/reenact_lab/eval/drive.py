"""One renderer driven by one clip onto one portrait through the live path, and what is kept of
each rendered frame (`DriveResult`): the measures `reenact_lab.eval.cross_reenact` describes.

`reenact_lab.eval.carried_rows` reads a `DriveResult` into the carried rows; `evaluate_cross` drives
every renderer and gathers them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reenact.config import Config
from reenact_lab.eval.background import background_change
from reenact.landmarks.clips import TrackedClip, iter_frames
from reenact_lab.eval.identity import face_box_from_eye_centres
from reenact_lab.eval.renderers import EvalRenderer
from reenact_lab.eval.temporal import TemporalSSIM
from reenact_lab.eval.tracked import num_frames
from reenact.landmarks.align import canonical_eye_centres
from reenact.landmarks.open_mouth import retrack_open_mouth
from reenact.landmarks.tracker import NUM_LANDMARKS, FaceTracker
from reenact_lab.metrics.landmarks import pose_free_error
from reenact.pipeline.reenactor import Reenactor
from reenact.pipeline.timing import StageTimer


def mean_or_nan(values) -> float:
    """The mean; NaN for no values (a NaN among them stays in)."""
    values = [float(v) for v in values]
    return float(np.mean(values)) if values else float("nan")


def whole_frames(clip: TrackedClip) -> int:
    """How many frames of the clip the live path drives: its whole tracked length."""
    whole = clip.whole_landmarks
    return num_frames(clip) if whole is None else len(whole)


def or_missing(found) -> np.ndarray:
    """(478,3) float32: the landmarks, or NaN where no face was found."""
    if found is None:
        return np.full((NUM_LANDMARKS, 3), np.nan, np.float32)
    return np.array(found, np.float32)


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
    box = face_box_from_eye_centres(canonical_eye_centres(target.alignment.size))
    return IdentityProbe(embedder, box, embedder.embed_aligned_crop(target.crop, box))


def carried_sample(total: int, config: Config) -> set[int]:
    """The frames re-tracked for the whole-clip carried measures: `eval.carried_retracks`
    evenly spaced over [calibration.neutral_frames, total) (calibration renders nothing before)."""
    first = max(1, config.calibration.neutral_frames)
    if total <= first:
        return set()
    return {int(i) for i in np.round(np.linspace(first, total - 1, config.eval.carried_retracks))}


def drive(clip: TrackedClip, target, item: EvalRenderer, fuser, config: Config, *,
          probe: IdentityProbe, keep: set[int], background: np.ndarray | None = None,
          bar=None) -> DriveResult:
    """Run the live path for one renderer over the clip; measure as the module says.

    background: (H,W) bool, the target frame's pixels outside the head's reach (None = skip)."""
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
