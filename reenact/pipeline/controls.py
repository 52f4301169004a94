"""The reenactor's live controls: what the hotkeys, the panel and a target switch change between
frames (`reenact.stream.controls` calls them); the per-frame path is `reenactor.py`'s."""

from __future__ import annotations

from typing import Any

from reenact.pipeline.target import PreparedTarget

INTENSITY_RANGE = (0.0, 1.5)


class ReenactorControls:
    """Targets, calibration, pause, intensity and smoothing of a `Reenactor` (its attributes:
    config, renderer, target, motion, calibrator, expression, compose, crossfade, crop_blender,
    face_lost, landmark_filter, tracker, intensity, paused, smoothing)."""

    config: Any
    renderer: Any
    target: PreparedTarget
    motion: Any
    calibrator: Any
    expression: Any
    compose: Any
    crossfade: Any
    crop_blender: Any
    face_lost: Any
    landmark_filter: Any
    tracker: Any
    intensity: float
    paused: bool
    smoothing: bool

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
        if hasattr(self.renderer, "set_avatar"):
            self.renderer.set_avatar(target.avatar)
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
        """Take the actor's neutral again from the next frames: every part of the two chains
        that learnt from the actor forgets it (the neutral, head pose, rests, eyes, creases)."""
        self.expression.reset()
        self.compose.reset()

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
