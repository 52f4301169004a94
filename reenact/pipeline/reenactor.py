"""The per-frame pipeline: track -> smooth landmarks -> fuse -> render -> blend crop -> composite.

`Reenactor.process(image, t_s, tracked)` is the one entrance: one actor frame in, one
`FrameResult` out (the output frame, the fused landmarks, the stage timings, whether a face was
found). `tracked` is `track(image)`'s result when it already ran (the live loop may track the
next frame on the capture thread while this one renders), a scripted source's landmarks (the
demo), or None: the reenactor tracks the image itself.

`process` is `finish(begin(...))`: the live loop may call the two halves apart, so that a
renderer's network runs on a worker while the next frame is tracked (`reenact.pipeline.
render_ahead`). Frames must be finished in the order they were begun.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from reenact.config import Config
from reenact.fusion.gains import RegionGains
from reenact.landmarks.align import Alignment, compute_alignment
from reenact.landmarks.neutral import NeutralCalibrator
from reenact.landmarks.smoothing import CropBlender, LandmarkSmoother
from reenact.landmarks.tracker import FaceTracker, head_yaw_deg
from reenact.pipeline.background import AvatarAlpha
from reenact.pipeline.composite import CrossFade, letterbox
from reenact.pipeline.creases import Creases
from reenact.pipeline.face_lost import FaceLostPolicy
from reenact.pipeline.motion import MotionStage
from reenact.pipeline.presets import PresetMixer
from reenact.pipeline.render_ahead import FrameJob, splits
from reenact.pipeline.target import PreparedTarget
from reenact.pipeline.timing import StageTimer, StreamClock
from reenact.profiling import laps
from reenact.render import moves_face
from reenact.render.boost import ExpressionBoost

INTENSITY_RANGE = (0.0, 1.5)


@dataclass(frozen=True)
class Tracked:
    """The tracking stage's result for one frame: aligned source landmarks (478,3) in crop
    pixels, or None when no usable face was found (none, or turned too far), and its time;
    alignment: the frame's face alignment (head roll, shift and scale; None = unknown);
    image_landmarks: what the tracker found in the frame (None: nothing, or not tracked)."""

    source: np.ndarray | None
    ms: float = 0.0
    alignment: Alignment | None = None
    image_landmarks: np.ndarray | None = None  # (478,3) in the frame's pixels, as tracked


@dataclass(frozen=True)
class FrameResult:
    """One frame through the pipeline.

    output: (h, w, 3) uint8 the target frame to send (an internal buffer: copy it to keep it).
    fused: (478,3) float32 J_gen in crop pixels, None when nothing was rendered (paused,
    calibrating, face lost). face_found: a usable actor face was tracked in this frame.
    timings_ms: this frame's stage times, e.g. {"track": 9.1, "fuse": 0.4, ...}.
    alpha: (h, w) uint8 the avatar's coverage of `output` when stream.background is not
    "picture" (`reenact.pipeline.background`); None = all of it (or not asked for).
    """

    output: np.ndarray
    fused: np.ndarray | None
    face_found: bool
    timings_ms: dict[str, float] = field(default_factory=dict)
    alpha: np.ndarray | None = None


class _Clock:
    """A frame's stage times, into the run's StageTimer and the frame's own dict."""

    def __init__(self, timer: StageTimer) -> None:
        self.timer = timer
        self.ms: dict[str, float] = {}

    def add(self, stage: str, ms: float) -> None:
        self.timer.add(stage, ms)
        self.ms[stage] = ms

    def since(self, stage: str, start_ns: int, extra_ms: float = 0.0) -> None:
        self.add(stage, (time.perf_counter_ns() - start_ns) / 1e6 + extra_ms)


class Reenactor:
    """Drives one target (a still, or a moving `target_video`) with an actor's expression.

    fuser: a `reenact.fusion.Fuser`; renderer: a `reenact.render.Renderer`.
    source_neutral: the actor's neutral (478,3) when known up front (the demo's scripted actor);
    otherwise it is `stream.neutral_path`'s, or calibrated from the first frames with a face.
    """

    source = None  # the session's ControlledSource (mirror, camera switch), set by the session

    def __init__(self, *, config: Config, target: PreparedTarget, fuser, renderer,
                 timer: StageTimer, target_video=None,
                 source_neutral: np.ndarray | None = None) -> None:
        s = config.smoothing
        self.config, self.fuser, self.renderer, self.timer = config, fuser, renderer, timer
        self.target_video = target_video
        self.intensity = config.stream.intensity
        self.smoothing = s.enabled
        self.paused = False
        self.tracker = FaceTracker(config.tracker, static=False)
        frames = max(1, config.stream.neutral_frames)
        self.calibrator = NeutralCalibrator(
            frames=frames, window=max(frames, config.stream.neutral_window))
        self.gains = RegionGains(config.fusion.gains.as_dict())  # per region, after fusion
        # a smile's widening and the brows' raise drawn larger (the renderer draws no folds)
        self.boost = ExpressionBoost.from_config(config, getattr(renderer, "name", ""))
        # ... and the folds themselves, the actor's, on the rendered crop
        self.creases = Creases(size=config.renderer.size, strength=config.stream.creases,
                               frames=self.calibrator.frames)
        given = source_neutral is not None or bool(config.stream.neutral_path)
        if source_neutral is not None:
            self.calibrator.set(source_neutral)
        elif config.stream.neutral_path:
            self.calibrator.load(config.stream.neutral_path)
        # a face back after a long loss calibrates again (stream.recalibrate_after_loss), unless
        # the neutral was given
        self.recalibrate_after_s = (
            config.stream.hold_s + config.stream.fade_s
            if config.stream.recalibrate_after_loss and not given else None)
        # the betas are per crop pixel at 256: the same motion is twice as fast at 512
        self.landmark_filter = LandmarkSmoother(
            min_cutoff=s.min_cutoff, beta=s.beta, d_cutoff=s.d_cutoff,
            expression_beta=s.expression_beta, head_beta=s.head_beta,
            scale=256 / config.renderer.size)
        self.crop_blender = CropBlender(s.crop_blend) if s.crop_blend > 0 else None
        self.face_lost = FaceLostPolicy(hold_s=config.stream.hold_s, fade_s=config.stream.fade_s)
        self.crossfade = CrossFade()
        self._passthrough: np.ndarray | None = None
        self.frames_with_face = 0
        self.frames_without_face = 0
        self.presets = PresetMixer.from_config(config)  # expression presets (keys 1-6)
        self._t_s = 0.0
        self.clock = StreamClock()  # frame times finite and going forward, for every stage
        self.target = target
        # head motion and eyes, around fusion and composite (a video target's head is its own)
        self.motion = MotionStage(config, neutral_given=given)
        self.motion.moves_frame = target_video is None
        self.render_ahead = False  # set by the session when a worker runs the network ahead
        self.shown_landmarks: np.ndarray | None = None  # the last finished frame's, as tracked
        self._use_target(target)

    # -- the one entrance ------------------------------------------------------------------

    def process(self, image: np.ndarray, t_s: float, tracked: Tracked | None) -> FrameResult:
        """One actor frame (H, W, 3) uint8 at time `t_s` s -> the frame's result.

        tracked: the frame's landmarks when already tracked (or scripted); None = track here.
        While a target switch cross-fades, every output is mixed with the previous target's."""
        return self.finish(self.begin(image, t_s, tracked))

    def begin(self, image: np.ndarray, t_s: float, tracked: Tracked | None) -> FrameJob:
        """The first half of `process`: tracking and fusion, and the renderer's network staged
        (`job.launch(worker)` runs it there; else `finish` runs it). The job carries what was
        tracked in the frame (`image_landmarks`)."""
        clock = _Clock(self.timer)
        t_s = self._t_s = self.clock(t_s)
        if self.target_video is not None:
            start = time.perf_counter_ns()  # a moving target: its next prepared frame
            self._use_target(self.target_video.next())
            clock.since("target", start)
        if self.paused:  # the actor's own frame, letterboxed to the output size
            self._passthrough = letterbox(image, self.target.frame.shape, self._passthrough)
            return FrameJob(t_s, FrameResult(self._passthrough, None, False, clock.ms))
        tracked = tracked if tracked is not None else self.track(image)
        clock.add("track", tracked.ms)
        seen = tracked.image_landmarks
        if tracked.source is None:
            return FrameJob(t_s, self._lost(t_s, clock), image_landmarks=seen)
        self.frames_with_face += 1
        lost_since = self.face_lost.lost_since
        if (self.recalibrate_after_s is not None and lost_since is not None
                and t_s - lost_since > self.recalibrate_after_s):
            self.recalibrate()  # the output has faded to neutral: a new start
        start = time.perf_counter_ns()
        source = self.landmark_filter.filter(tracked.source, t_s) if self.smoothing else tracked.source
        smooth_ms = (time.perf_counter_ns() - start) / 1e6
        if not self.calibrator.complete:  # a first neutral after neutral_frames, then refined
            self.calibrator.add(source)
            self.motion.calibrate(tracked.alignment)
        creases = self._creases(image, tracked)
        if self.calibrator.neutral is None:
            self.face_lost.good(self.target.frame)
            return FrameJob(t_s, FrameResult(self.target.frame, None, True, clock.ms,
                                             self.target.mask), image_landmarks=seen)
        return self._render(source, tracked, clock, smooth_ms, t_s, creases)

    def _creases(self, image: np.ndarray, tracked: Tracked) -> tuple[np.ndarray | None, float]:
        """The frame's creases (`Creases.ratio`, None = none) and the ms they took; while the
        actor's reference is not held, the frame is a candidate for it."""
        c = self.creases
        if tracked.alignment is None or (c.held and not c.active):
            return None, 0.0
        start = time.perf_counter_ns()
        lap = laps("render")
        crop = tracked.alignment.crop_image(image)
        if not c.held:
            c.observe(crop, tracked.source, self.calibrator.neutral, self.calibrator.complete)
        ratio = c.ratio(crop, tracked.source)
        lap("creases_measure")
        return ratio, (time.perf_counter_ns() - start) / 1e6

    def finish(self, job: FrameJob) -> FrameResult:
        """The second half of `process`: the crop composited (waiting for the network when it
        runs on a worker), then the target switch's cross-fade. `shown_landmarks` becomes
        what was tracked in this frame (the panel draws them on the camera frame it shows)."""
        self.shown_landmarks = job.image_landmarks
        result = job.complete()
        output = self.crossfade.apply(result.output, job.t_s)
        return result if output is result.output else replace(result, output=output)

    def track(self, image: np.ndarray) -> Tracked:
        """The tracking stage alone: safe on another thread, as long as only one thread calls it."""
        start = time.perf_counter_ns()
        lap = laps("track")
        landmarks = self.tracker.track_one(image)
        lap("landmarks")
        source = alignment = None
        if landmarks is not None and abs(head_yaw_deg(landmarks)) <= self.config.tracker.max_yaw_deg:
            alignment = compute_alignment(landmarks, self.config.renderer.size)
            source = alignment.landmarks_to_crop(landmarks)
            lap("align")
        return Tracked(source, (time.perf_counter_ns() - start) / 1e6, alignment, landmarks)

    def stalled(self, t_s: float) -> np.ndarray:
        """The frame to send while the camera delivers nothing: as if the face were lost."""
        self.landmark_filter.reset()
        return self.face_lost.lost(self.clock(t_s), self.target.frame)

    # -- stages ----------------------------------------------------------------------------

    def _lost(self, t_s: float, clock: _Clock) -> FrameResult:
        self.frames_without_face += 1
        self.landmark_filter.reset()
        self.motion.lost()
        output = self.face_lost.lost(t_s, self.target.frame)
        alpha = self.avatar.lost(self.target) if self.avatar is not None else None
        return FrameResult(output, None, False, clock.ms, alpha)

    def _adjust(self, fused: np.ndarray, target_neutral: np.ndarray) -> np.ndarray:
        """Per-region gains, then fired presets, on J_gen (478,3) in the target's crop pixels."""
        fused = self.gains.apply(fused, target_neutral)
        if self.presets.active:  # fired presets mix into J_gen (reenact.pipeline.presets)
            fused = self.presets.apply(fused, target_neutral, self._t_s)
        return fused

    def _render(self, source: np.ndarray, tracked: Tracked, clock: _Clock, smooth_ms: float,
                t_s: float, creases: tuple[np.ndarray | None, float]) -> FrameJob:
        """fuse -> render (staged when the renderer splits) -> creases -> blend crop ->
        composite; the job finishes as J_gen (478,3) and the output (h,w,3) uint8. source: the
        smoothed landmarks; tracked: the frame's tracking (its alignment and raw landmarks set
        the head pose); creases: `_creases`'s."""
        target = self.target
        start = time.perf_counter_ns()
        fused, drawn, pose = self.motion.fuse(
            self.fuser, source, self.calibrator.neutral, target, self.intensity,
            tracked.alignment, t_s, tracked.source, adjust=self._adjust, draw=self.boost.apply)
        clock.since("fuse", start)
        start = time.perf_counter_ns()
        run = crop = None
        if splits(self.renderer):
            run = self.renderer.stage(drawn)
        else:
            crop = self.renderer.render(drawn)
        staged_ms = (time.perf_counter_ns() - start) / 1e6

        def finish(crop: np.ndarray, network_ms: float) -> FrameResult:
            start = time.perf_counter_ns()
            lap = laps("render")
            crop = self.creases.apply(crop, creases[0], drawn)  # its ratio's time is render's too
            lap("creases")
            if self.presets.active:
                crop = self.presets.blend_crop(crop, target.crop, target.landmarks_crop)
                lap("preset_crop")
            clock.since("render", start, staged_ms + network_ms + creases[1])
            start = time.perf_counter_ns()
            if self.crop_blender is not None:
                crop = self.crop_blender.blend(crop)
            clock.since("smooth", start, smooth_ms)
            start = time.perf_counter_ns()
            moved = drawn if moves_face(self.renderer) else None
            output = self.motion.composite(target, target.compositor.paste(crop, moved), pose)
            lap = laps("composite")
            alpha = self._alpha(target, pose)
            if alpha is not None:
                lap("alpha")
            clock.since("composite", start)
            self.face_lost.good(output)
            return FrameResult(output, fused, True, clock.ms, alpha)

        return FrameJob(t_s, run=run, crop=crop, finish=finish,
                        image_landmarks=tracked.image_landmarks)

    @cached_property
    def avatar(self) -> AvatarAlpha | None:
        """The avatar's mask of each output; None when the background is the picture's."""
        return AvatarAlpha() if self.config.stream.background != "picture" else None

    def _alpha(self, target: PreparedTarget, pose) -> np.ndarray | None:
        """The avatar's mask of a rendered frame (None: the background is the picture's)."""
        if self.avatar is None:
            return None
        alpha = self.motion.alpha(target, pose, self.avatar)
        self.avatar.good(alpha)
        return alpha

    # -- targets and controls --------------------------------------------------------------

    def set_target(self, target: PreparedTarget, *, crossfade_s: float = 0.0) -> None:
        """Drive another face from now on; cross-fade from the last output over `crossfade_s`."""
        previous = self.face_lost.last_good
        if crossfade_s > 0 and previous is not None and previous.shape == target.frame.shape:
            self.crossfade.start(previous, crossfade_s)
        self._use_target(target)
        if self.crop_blender is not None:  # another face: the previous crops do not apply
            self.crop_blender.reset()

    def _use_target(self, target: PreparedTarget) -> None:
        """Render onto `target`, keeping the smoothing state (a moving target's next frame is
        the same face)."""
        self.target = target
        if self.motion.estimated_neutral:
            target.estimate_neutral(self.config)  # at most once per target
        target.compositor.colour_match = self.renderer.shifts_colours
        self.renderer.set_target(target.crop, target.landmarks_crop)
        if self.motion.moves_frame and self.motion.mode != "off":
            self.motion.prepare(target)  # the head region, before the first frame needs it

    @property
    def target_neutral(self) -> str:
        """`fusion.target_neutral`: "estimated" or "picture"."""
        return "estimated" if self.motion.estimated_neutral else "picture"

    def set_target_neutral(self, mode: str) -> None:
        """Fuse onto the target's estimated neutral or its picture's landmarks, from the next
        frame (the estimate is made now if this target has none yet)."""
        self.motion.estimated_neutral = mode == "estimated"
        if self.motion.estimated_neutral:
            self.target.estimate_neutral(self.config)

    def recalibrate(self) -> None:
        """Take the actor's neutral again from the next frames."""
        self.calibrator.reset()
        self.motion.reset()
        self.creases.reset()

    def toggle_pause(self) -> bool:
        """Pass the actor's frames through (or stop doing so); returns whether paused now."""
        self.paused = not self.paused
        return self.paused

    def change_intensity(self, step: float) -> float:
        """Add `step` to the expression's intensity, kept in [0, 1.5]; returns the new value."""
        low, high = INTENSITY_RANGE
        self.intensity = round(min(high, max(low, self.intensity + step)), 2)
        return self.intensity

    def toggle_smoothing(self) -> bool:
        """Landmark smoothing on/off; returns whether on now."""
        self.smoothing = not self.smoothing
        self.landmark_filter.reset()
        return self.smoothing

    @property
    def calibrating(self) -> bool:
        return self.calibrator.neutral is None

    def close(self) -> None:
        self.tracker.close()
