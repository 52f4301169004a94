"""The per-frame pipeline: track -> expression chain -> renderer -> compose chain.

`Reenactor.process(image, t_s, tracked)`: one actor frame in, one `FrameResult` out; `tracked`
is `track(image)`'s result when it already ran (or a scripted source's), None = track here.
`process` is `finish(begin(...))`, which the live loop may call apart so that a renderer's
network runs on a worker (`reenact.pipeline.render_ahead`), finishing frames in order. The chains
are built in `reenact.pipeline.chains`; the live controls are in `reenact.pipeline.controls`.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from reenact.config import Config
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.tracker import FaceTracker, head_yaw_deg
from reenact.pipeline.chains import build_chains
from reenact.pipeline.composite import letterbox
from reenact.pipeline.controls import INTENSITY_RANGE, ReenactorControls
from reenact.pipeline.frame import FrameResult, FrameState, Tracked
from reenact.pipeline.render_ahead import FrameJob, splits
from reenact.pipeline.target import PreparedTarget
from reenact.pipeline.timing import StageTimer, StreamClock
from reenact.profiling import laps

__all__ = ["INTENSITY_RANGE", "FrameResult", "Reenactor", "Tracked"]


class Reenactor(ReenactorControls):
    """Drives one target (a still, or a moving `target_video`) with an actor's expression: a
    `reenact.fusion.Fuser`, a `reenact.render.Renderer`, `chains.build_chains`' chains."""

    source = None  # the session's ControlledSource (mirror, camera switch), set by the session

    def __init__(self, *, config: Config, target: PreparedTarget, fuser, renderer,
                 timer: StageTimer, target_video=None,
                 source_neutral: np.ndarray | None = None) -> None:
        s = config.stream
        self.config, self.fuser, self.renderer, self.timer = config, fuser, renderer, timer
        self.target, self.target_video = target, target_video
        self.intensity, self.smoothing, self.paused = s.intensity, config.smoothing.enabled, False
        self.tracker = FaceTracker(config.tracker, static=False)
        p = build_chains(config, fuser=fuser, renderer=renderer,
                         source_neutral=source_neutral, moving_target=target_video is not None)
        self.expression, self.compose, self.calibrator = p.expression, p.compose, p.calibrator
        self.motion, self.creases, self.presets = p.motion, p.creases, p.presets
        self.face_lost, self.crossfade, self.avatar = p.face_lost, p.crossfade, p.avatar
        # a face back after a long loss calibrates again, unless the neutral was given
        self.recalibrate_after_s = (
            s.hold_s + s.fade_s if config.calibration.recalibrate_after_loss and not p.given else None)
        self.landmark_filter = self.expression.part("smoothing").filter
        self.gains = self.expression.part("gains").gains
        self.boost = self.expression.part("boost").boost
        self.crop_blender = self.compose.part("crop_blend").blender
        self.frames_with_face = self.frames_without_face = 0
        self._passthrough: np.ndarray | None = None
        self.clock = StreamClock()  # frame times finite and going forward, for every stage
        self.render_ahead = False  # set by the session when a worker runs the network ahead
        self.shown_landmarks: np.ndarray | None = None  # the last finished frame's, as tracked
        self._use_target(target)

    def process(self, image: np.ndarray, t_s: float, tracked: Tracked | None) -> FrameResult:
        """One actor frame (H, W, 3) uint8 at `t_s` s -> its result (module docstring)."""
        return self.finish(self.begin(image, t_s, tracked))

    def begin(self, image: np.ndarray, t_s: float, tracked: Tracked | None) -> FrameJob:
        """Track, the expression chain, and the renderer's network staged (`job.launch(worker)`
        runs it there; else `finish` does); the job carries what was tracked in the frame."""
        t_s, ms = self.clock(t_s), {}
        if self.target_video is not None:
            start = time.perf_counter_ns()  # a moving target: its next prepared frame
            self._use_target(self.target_video.next())
            self._add(ms, "target", (time.perf_counter_ns() - start) / 1e6)
        if self.paused:  # the actor's own frame, letterboxed to the output size
            self._passthrough = letterbox(image, self.target.frame.shape, self._passthrough)
            return FrameJob(t_s, FrameResult(self._passthrough, None, False, ms))
        tracked = tracked if tracked is not None else self.track(image)
        self._add(ms, "track", tracked.ms)
        seen = tracked.image_landmarks
        if tracked.source is None:
            return FrameJob(t_s, self._lost(t_s, ms), image_landmarks=seen)
        self.frames_with_face += 1
        lost_since = self.face_lost.lost_since
        if self.recalibrate_after_s is not None and lost_since is not None \
                and t_s - lost_since > self.recalibrate_after_s:
            self.recalibrate()  # the output has faded to neutral: a new start
        state = self.expression.run(FrameState(
            t_s, self.target, image, tracked, self.intensity, self.smoothing))
        if state.stop:  # calibrating: the target as it is
            self.face_lost.good(self.target.frame)
            return FrameJob(t_s, FrameResult(self.target.frame, None, True, ms,
                                             self.target.mask), image_landmarks=seen)
        start = time.perf_counter_ns()
        run = self.renderer.stage(state.drawn) if splits(self.renderer) else None
        crop = self.renderer.render(state.drawn) if run is None else None
        state.add_ms("render", (time.perf_counter_ns() - start) / 1e6)

        def finish(crop: np.ndarray, network_ms: float) -> FrameResult:
            state.crop = crop
            state.add_ms("render", network_ms)
            self.compose.run(state)
            for stage, stage_ms in state.ms.items():
                self._add(ms, stage, stage_ms)
            return FrameResult(state.output, state.fused, True, ms, state.alpha)

        return FrameJob(t_s, run=run, crop=crop, finish=finish, image_landmarks=seen)

    def finish(self, job: FrameJob) -> FrameResult:
        """The compose chain (after the network, on a worker or here; a frame with nothing rendered:
        the cross-fade alone); `shown_landmarks` becomes what was tracked in the frame."""
        self.shown_landmarks = job.image_landmarks
        rendered = job.finish is not None
        result = job.complete()
        if rendered:
            return result
        output = self.compose.run(FrameState(job.t_s, output=result.output), rendered=False).output
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

    def _add(self, ms: dict[str, float], stage: str, stage_ms: float) -> None:
        self.timer.add(stage, stage_ms)
        ms[stage] = stage_ms

    def _lost(self, t_s: float, ms: dict[str, float]) -> FrameResult:
        self.frames_without_face += 1
        self.landmark_filter.reset()
        self.motion.lost()
        output = self.face_lost.lost(t_s, self.target.frame)
        alpha = self.avatar.lost(self.target) if self.avatar is not None else None
        return FrameResult(output, None, False, ms, alpha)
