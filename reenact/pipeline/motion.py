"""Head motion and eyes between fusion and compositing: one stage for the reenactor.

    stage = MotionStage(config)
    fused, drawn, pose = stage.fuse(fuser, source, source_neutral, target, intensity,
                                    alignment, t_s)
    crop = renderer.render(drawn)
    output = stage.composite(target, target.compositor.paste(crop), pose)

`fuse` undoes the actor's head motion (`HeadMotion`, in every stream.head_motion mode), takes
the actor's resting brows as rest (`reenact.fusion.brows.BrowRest`) and their closed mouth as
closed (`reenact.fusion.mouth_rest.MouthRest`), fuses the expression,
carries gaze and eye openness (`reenact.fusion.eyes.EyeTransfer`) and turns the fused mesh by
the bounded pitch and yaw about a point behind the target's face (`head_motion.turn_centre`);
`composite` moves the target's head (face, hair, neck) by the bounded roll (and in "full" shift
and scale, less what the turn already moved the eyes) over a background that stays
(`HeadRegion`, prepared once per still target, on first use). A moving (video) target's head is
its video's: neither the turn nor the move is applied to it (`moves_frame` False).
"""

from __future__ import annotations

import numpy as np

from reenact.config import Config
from reenact.fusion.brows import BrowRest
from reenact.fusion.eyes import EyeTransfer
from reenact.fusion.mouth_rest import MouthRest
from reenact.pipeline.head_motion import (
    HEAD_MODES,
    HeadMotion,
    HeadPose,
    eyes_moved,
    turn_centre,
)
from reenact.pipeline.head_region import HeadRegion
from reenact.profiling import laps


class MotionStage:
    """Head motion and eyes for one stream (see the module docstring)."""

    def __init__(self, config: Config, *, neutral_given: bool = False) -> None:
        """neutral_given: the actor's neutral is given (stream.neutral_path, or passed in), not
        calibrated: it is their rest, and the brows and the closed mouth are not learnt until a
        `reset`."""
        s = config.stream
        self.head = HeadMotion(
            s.head_motion,
            max_turn_deg=s.head_max_deg,
            max_roll_deg=s.head_max_roll_deg,
            pitch_gain=s.head_pitch_gain,
            yaw_gain=s.head_yaw_gain,
            jaw_decouple=s.head_jaw_decouple,
            reference_frames=max(1, s.neutral_frames),
        )
        self.eyes = EyeTransfer(
            gaze=s.gaze,
            gaze_gain=s.gaze_gain,
            gaze_vertical=s.gaze_vertical,
            lid_follow=s.lid_follow,
            adapt_frames=s.eye_adapt_frames,
            linked=s.eyes_linked,
        )
        self._brow_frames = s.brow_adapt_frames
        self.brows = BrowRest(adapt_frames=0 if neutral_given else s.brow_adapt_frames)
        self._mouth_frames = s.mouth_adapt_frames
        self.mouth = MouthRest(adapt_frames=0 if neutral_given else s.mouth_adapt_frames)
        # L_t: the still target's estimated neutral, or its picture's landmarks (live)
        self.estimated_neutral = config.fusion.target_neutral == "estimated"
        self._regions: list[tuple[object, HeadRegion]] = []  # newest first
        self.moves_frame = True  # False for a moving (video) target: its head is its own

    @property
    def mode(self) -> str:
        return self.head.mode

    def set_mode(self, mode: str) -> None:
        """Switch head motion live (off / rotate / full); the reference pose is kept and the head
        eases to the new mode's pose (`HeadMotion.switch`)."""
        if mode not in HEAD_MODES:
            raise ValueError(f"head motion: '{mode}' is not one of {', '.join(HEAD_MODES)}")
        self.head.switch(mode)

    def next_mode(self) -> str:
        """Cycle off -> rotate -> full -> off; returns the new mode."""
        self.set_mode(HEAD_MODES[(HEAD_MODES.index(self.mode) + 1) % len(HEAD_MODES)])
        return self.mode

    def reset(self) -> None:
        """A new actor neutral, calibrated from the next frames (the brows' rest and the closed
        mouth learnt again, also after a neutral that was given)."""
        self.head.reset()
        self.eyes.reset()
        self.eyes.forget_open_eye()
        self.brows.adapt_frames = self._brow_frames
        self.brows.forget()
        self.mouth.adapt_frames = self._mouth_frames
        self.mouth.forget()

    def calibrate(self, alignment) -> None:
        """A frame of the actor's neutral (the reenactor is calibrating): its head pose is the
        reference the head moves from."""
        self.head.add_reference(alignment)

    def lost(self) -> None:
        """The actor's face was lost."""
        self.head.lost()
        self.eyes.reset()

    def fuse(
        self,
        fuser,
        source: np.ndarray,
        source_neutral: np.ndarray,
        target,
        intensity: float,
        alignment,
        t_s: float,
        raw: np.ndarray | None = None,
        adjust=None,
        draw=None,
    ) -> tuple[np.ndarray, np.ndarray, HeadPose]:
        """(478,3) fused landmarks in the target's crop pixels, the (478,3) landmarks to draw,
        and the head pose to composite.

        source, source_neutral: (478,3) the actor's aligned landmarks (smoothed); target: a
        PreparedTarget; alignment: the actor frame's alignment (None = unknown); raw: the
        landmarks before smoothing, for the head pose (None = `source`); adjust: (fused, target
        neutral) -> fused, applied after fusion and the eyes, before the head turns (per-region
        gains, presets; None = nothing); draw: (fused, target neutral) -> what the renderer
        draws (the expression boost), after `adjust`, before the turn (None = the fused ones)."""
        lap = laps("fuse")
        expression, pose = self.head.observe(source, source_neutral, alignment, t_s, raw)
        if not self.moves_frame:
            pose = HeadPose()  # a moving target's head is its video's: the actor's does not turn it
        lap("head_pose")
        expression = self.brows.apply(expression, source_neutral)
        lap("brow_rest")
        expression = self.mouth.apply(expression, source_neutral)
        lap("mouth_rest")
        neutral = target.neutral(self.estimated_neutral)
        fused = fuser.fuse(expression, source_neutral, neutral, intensity)
        lap("fuser")
        fused = self.eyes.apply(fused, expression, source_neutral, neutral)
        lap("eyes")
        if adjust is not None:
            fused = adjust(fused, neutral)
            lap("gains_presets")
        drawn = fused if draw is None else draw(fused, neutral)
        lap("boost")
        centre = turn_centre(neutral)
        turned = pose.turn(fused, centre)
        if self.mode == "full" and alignment is not None:
            # the actor's eye shift in the image includes what their turn moved the eyes; the
            # turned mesh moves the target's eyes by that already: the head region takes the rest
            pose = pose.shifted(-eyes_moved(fused, turned, target.alignment))
        drawn = turned if drawn is fused else pose.turn(drawn, centre)
        lap("turn")
        return turned, drawn, pose

    def prepare(self, target) -> HeadRegion:
        """The target's HeadRegion (segmentation and inpainting: ~0.1-1 s), built once; call it
        when a still target is set so that the first moving frame does not wait for it."""
        region = next((r for t, r in self._regions if t is target), None)
        if region is None:
            region = HeadRegion(target.frame, target.alignment, target.landmarks_crop)
            self._regions = [(target, region), *self._regions][:8]  # a few targets switched live
        return region

    def alpha(self, target, pose: HeadPose, avatar) -> np.ndarray | None:
        """The avatar's mask (H,W) uint8 of the frame `composite` just gave for `pose`
        (avatar: a `reenact.pipeline.background.AvatarAlpha`); None = all avatar."""
        if pose.is_still() or not self.moves_frame or target.mask is None:
            return target.mask
        return avatar.moved(target, self.prepare(target))

    def composite(self, target, output: np.ndarray, pose: HeadPose) -> np.ndarray:
        """The composited frame (H,W,3) uint8 with the target's head moved by `pose`."""
        if pose.is_still() or not self.moves_frame:
            return output
        lap = laps("composite")
        region = self.prepare(target)
        about = "eyes" if self.mode == "full" else "chin"
        moved = region.move(
            output, region.matrix_for(pose, about=about), changed=target.compositor.box
        )
        lap("head_region")
        return moved
