"""The per-frame work: track -> align -> smooth -> fuse -> render -> composite.

`Reenactor.process(image, t_s)` turns one actor frame into one output frame of the target. For a
live source the loop may run `Reenactor.track(image)` on the capture thread instead (the next
frame is tracked while this one renders) and hand its result to `process(image, t_s, tracked)`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from reenact.config import Config
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.neutral import NeutralCalibrator
from reenact.landmarks.smoothing import CropBlender, OneEuroFilter
from reenact.landmarks.tracker import FaceTracker, head_yaw_deg
from reenact.pipeline.presets import PresetMixer
from reenact.pipeline.face_lost import FaceLostPolicy
from reenact.pipeline.target import PreparedTarget
from reenact.pipeline.timing import StageTimer


@dataclass(frozen=True)
class Tracked:
    """The tracking stage's result for one frame: aligned source landmarks (478,3) in crop
    pixels, or None when no usable face was found (none, or turned too far), and its time."""

    source: np.ndarray | None
    ms: float


class Reenactor:
    """Drives one target with an actor's expression, frame by frame.

    fuser: `fuse(source, source_neutral, target_neutral, intensity) -> (478,3)` (crop coordinates).
    renderer: `set_target(crop, landmarks)` and `render(fused) -> (S,S,3) uint8`.
    """

    def __init__(
        self, *, config: Config, target: PreparedTarget, fuser, renderer, timer: StageTimer
    ) -> None:
        self.config = config
        self.fuser = fuser
        self.renderer = renderer
        self.timer = timer
        self.intensity = config.stream.intensity
        self.smoothing = config.smoothing.enabled
        self.paused = False
        self.tracker = FaceTracker(config.tracker, static=False)
        self.calibrator = NeutralCalibrator(frames=max(1, config.stream.neutral_frames))
        if config.stream.neutral_path:
            self.calibrator.load(config.stream.neutral_path)
        s = config.smoothing
        # beta is per crop pixel: the same motion is twice as fast in pixels at 512 as at 256
        self.landmark_filter = OneEuroFilter(
            min_cutoff=s.min_cutoff, beta=s.beta * 256 / config.renderer.size, d_cutoff=s.d_cutoff
        )
        self.crop_blender = CropBlender(s.crop_blend) if s.crop_blend > 0 else None
        self.face_lost = FaceLostPolicy(hold_s=config.stream.hold_s, fade_s=config.stream.fade_s)
        self._fade_from: np.ndarray | None = None
        self._fade_s = 0.0
        self._fade_start: float | None = None
        self.target: PreparedTarget = target
        self.target_video = None  # a TargetVideo: the target advances one frame per frame
        self.set_target(target)
        self.last_fused: np.ndarray | None = None
        self.last_source: np.ndarray | None = None
        self.frames_with_face = 0
        self.frames_without_face = 0
        self._smooth_ns = 0
        self._passthrough_buf: np.ndarray | None = None
        self.presets = PresetMixer.from_config(config)  # expression presets (keys 1-6)
        self._t_s = 0.0

    def set_target(self, target: PreparedTarget, *, crossfade_s: float = 0.0) -> None:
        """Drive `target` from now on; cross-fade from the last output over `crossfade_s`."""
        previous = self.face_lost.last_good
        if crossfade_s > 0 and previous is not None and previous.shape == target.frame.shape:
            self._fade_from = previous.copy()
            self._fade_s = crossfade_s
            self._fade_start = None
        self._use_target(target)
        if self.crop_blender is not None:  # another face: the previous crops do not apply
            self.crop_blender.reset()

    def _use_target(self, target: PreparedTarget) -> None:
        """Render onto `target` from now on, keeping the smoothing state (a moving target's
        next frame is the same face)."""
        self.target = target
        # a generator may shift colours: match them to the target's around the face's edge
        target.compositor.colour_match = getattr(self.renderer, "name", "") == "generator"
        self.renderer.set_target(target.crop, target.landmarks_crop)

    def _crossfade(self, output: np.ndarray, t_s: float) -> np.ndarray:
        if self._fade_from is None:
            return output
        if self._fade_start is None:
            self._fade_start = t_s
        a = (t_s - self._fade_start) / self._fade_s
        if a >= 1.0:
            self._fade_from = None
            return output
        mixed = self._fade_from * np.float32(1.0 - a) + output * np.float32(a)
        return mixed.astype(np.uint8)

    def recalibrate(self) -> None:
        """Take the actor's neutral again from the next frames."""
        self.calibrator.reset()

    @property
    def calibrating(self) -> bool:
        return self.calibrator.neutral is None

    def process(self, image: np.ndarray, t_s: float, tracked: Tracked | None = None) -> np.ndarray:
        """One actor frame (H, W, 3) uint8 at time `t_s` s -> one target frame (h, w, 3) uint8.

        tracked: `track(image)`'s result when it already ran (on the capture thread)."""
        return self._crossfade(self._process(image, t_s, tracked), t_s)

    def track(self, image: np.ndarray) -> Tracked:
        """The tracking stage alone: safe on another thread, as long as only one thread calls it."""
        start = time.perf_counter_ns()
        landmarks = self.tracker.track_one(image)
        source = None
        if landmarks is not None and abs(head_yaw_deg(landmarks)) <= self.config.tracker.max_yaw_deg:
            alignment = compute_alignment(landmarks, self.config.renderer.size)
            source = alignment.landmarks_to_crop(landmarks)
        return Tracked(source, (time.perf_counter_ns() - start) / 1e6)

    def _process(self, image: np.ndarray, t_s: float, tracked: Tracked | None) -> np.ndarray:
        timer = self.timer
        self._t_s = t_s
        if self.target_video is not None:
            with timer.stage("target"):  # a moving target: its next prepared frame
                self._use_target(self.target_video.next())
        if self.paused:
            return self._passthrough(image)
        if tracked is None:
            tracked = self.track(image)
        timer.add("track", tracked.ms)
        source = tracked.source
        if source is None:
            self.frames_without_face += 1
            self.landmark_filter.reset()
            return self.face_lost.lost(t_s, self.target.frame)
        self.frames_with_face += 1
        start = time.perf_counter_ns()
        if self.smoothing:
            source = self.landmark_filter.filter(source, t_s)
        self._smooth_ns = time.perf_counter_ns() - start
        self.last_source = source
        if self.calibrator.neutral is None:
            self.calibrator.add(source)
            output = self.target.frame
            self.face_lost.good(output)
            return output
        return self.render_landmarks(source)

    def render_landmarks(self, source: np.ndarray) -> np.ndarray:
        """Render the target with aligned source landmarks (478,3) against the calibrated neutral."""
        timer = self.timer
        target = self.target
        with timer.stage("fuse"):
            fused = self.fuser.fuse(
                source, self.calibrator.neutral, target.landmarks_crop, self.intensity
            )
        if self.presets.active:
            fused = self.presets.apply(fused, target.landmarks_crop, self._t_s)
        self.last_fused = fused
        with timer.stage("render"):
            crop = self.renderer.render(fused)
            if self.presets.active:
                crop = self.presets.blend_crop(crop, target.crop, target.landmarks_crop)
        start = time.perf_counter_ns()
        if self.crop_blender is not None:
            crop = self.crop_blender.blend(crop)
        timer.add("smooth", (self._smooth_ns + time.perf_counter_ns() - start) / 1e6)
        with timer.stage("composite"):
            output = target.compositor.paste(crop)
        self.face_lost.good(output)
        return output

    def stalled(self, t_s: float) -> np.ndarray:
        """The frame to send while the camera delivers nothing: as if the face were lost."""
        self.landmark_filter.reset()
        return self.face_lost.lost(t_s, self.target.frame)

    def _passthrough(self, image: np.ndarray) -> np.ndarray:
        """The actor's own frame, letterboxed to the output size (pause)."""
        h, w = self.target.frame.shape[:2]
        if self._passthrough_buf is None or self._passthrough_buf.shape != (h, w, 3):
            self._passthrough_buf = np.zeros((h, w, 3), np.uint8)
        ih, iw = image.shape[:2]
        s = min(w / iw, h / ih)
        nw, nh = max(1, round(iw * s)), max(1, round(ih * s))
        out = self._passthrough_buf
        out[:] = 0
        y, x = (h - nh) // 2, (w - nw) // 2
        out[y : y + nh, x : x + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        return out

    def close(self) -> None:
        self.tracker.close()
