"""Head motion, the actor's rests and eyes: the state that the two chains' parts share.

`MotionStage` holds, for one stream, the actor's head motion (`HeadMotion`, in every
head.motion mode), resting brows (`reenact.fusion.brows.BrowRest`), closed mouth
(`reenact.fusion.mouth_rest.MouthRest`) and eyes (`reenact.fusion.eyes.EyeTransfer`), which
the expression chain's parts use (`reenact.pipeline.expression`: the head pose undone, the
rests, the eyes, the turn about a point behind the target's face, `head_motion.turn_centre`),
and the target's head regions, which the compose chain's moves the target's head (face, hair,
neck) with, by the bounded roll (and in "full" shift and scale) over a background that stays
(`HeadRegion`, prepared once per still target, on first use: `move_head`). A moving (video)
target's head is its video's: neither the turn nor the move is applied to it (`moves_frame`
False).
"""

from __future__ import annotations

import numpy as np

from reenact.config import Config
from reenact.fusion.brows import BrowRest
from reenact.fusion.eyes import EyeTransfer
from reenact.fusion.mouth_rest import MouthRest
from reenact.pipeline.head_motion import HEAD_MODES, HeadMotion, HeadPose
from reenact.pipeline.head_region import HeadRegion


class MotionStage:
    """Head motion and eyes for one stream (see the module docstring)."""

    def __init__(self, config: Config, *, neutral_given: bool = False) -> None:
        """neutral_given: the actor's neutral is given (calibration.neutral_path, or passed in), not
        calibrated: it is their rest, and the brows and the closed mouth are not learnt until a
        `reset`."""
        head, eyes, calibration = config.head, config.eyes, config.calibration
        self.head = HeadMotion(
            head.motion,
            max_turn_deg=head.max_deg,
            max_roll_deg=head.max_roll_deg,
            pitch_gain=head.pitch_gain,
            yaw_gain=head.yaw_gain,
            jaw_decouple=head.jaw_decouple,
            reference_frames=max(1, calibration.neutral_frames),
        )
        self.eyes = EyeTransfer(
            gaze=eyes.gaze,
            gaze_gain=eyes.gaze_gain,
            gaze_vertical=eyes.gaze_vertical,
            lid_follow=eyes.lid_follow,
            adapt_frames=eyes.adapt_frames,
            linked=eyes.linked,
        )
        self._brow_frames = calibration.brow_adapt_frames
        self.brows = BrowRest(adapt_frames=0 if neutral_given else calibration.brow_adapt_frames)
        self._mouth_frames = calibration.mouth_adapt_frames
        self.mouth = MouthRest(adapt_frames=0 if neutral_given else calibration.mouth_adapt_frames)
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
        self.forget_brows()
        self.forget_mouth()

    def forget_brows(self) -> None:
        """Learn the actor's resting brows again (also after a neutral that was given)."""
        self.brows.adapt_frames = self._brow_frames
        self.brows.forget()

    def forget_mouth(self) -> None:
        """Learn the actor's closed mouth again (also after a neutral that was given)."""
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

    def prepare(self, target) -> HeadRegion:
        """The target's HeadRegion (segmentation and inpainting: ~0.1-1 s), built once; call it
        when a still target is set so that the first moving frame does not wait for it."""
        region = next((r for t, r in self._regions if t is target), None)
        if region is None:
            region = HeadRegion(target.frame, target.alignment, target.landmarks_crop)
            self._regions = [(target, region), *self._regions][:8]  # a few targets switched live
        return region

    def alpha(self, target, pose: HeadPose, avatar) -> np.ndarray | None:
        """The avatar's mask (H,W) uint8 of the frame `move_head` just gave for `pose`
        (avatar: a `reenact.pipeline.background.AvatarAlpha`); None = all avatar."""
        if pose.is_still() or not self.moves_frame or target.mask is None:
            return target.mask
        return avatar.moved(target, self.prepare(target))

    def move_head(self, target, output: np.ndarray, pose: HeadPose) -> np.ndarray:
        """The composited frame (H,W,3) uint8 with the target's head moved by `pose`."""
        if pose.is_still() or not self.moves_frame:
            return output
        region = self.prepare(target)
        about = "eyes" if self.mode == "full" else "chin"
        return region.move(
            output, region.matrix_for(pose, about=about), changed=target.compositor.box
        )
