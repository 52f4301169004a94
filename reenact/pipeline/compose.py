"""The compose chain: every step of a frame after rendering, in order.

    creases -> preset_crop -> crop_blend -> colour -> blend -> paste -> detail -> head_region
    -> alpha -> hold -> crossfade

The renderer's crop (S,S,3) uint8 comes in (`FrameState.crop`); the frame to send (h,w,3)
uint8 (`output`) and the avatar's mask (`alpha`) go out. Each part follows
`reenact.pipeline.frame`'s contract; `build_compose_chain` is the one place that builds them from
the config. The cross-fade runs on every frame, rendered or not (`every_frame`), and its time
counts into no stage (`counted`).
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.config import Config
from reenact.pipeline.composite import CrossFade
from reenact.pipeline.creases import Creases
from reenact.pipeline.face_lost import FaceLostPolicy
from reenact.pipeline.frame import BasePart, Chain, FrameState
from reenact.pipeline.motion import MotionStage
from reenact.pipeline.presets import PresetMixer
from reenact.render import moves_face


class CropBlender:
    """Exponential temporal blend of rendered crops: out = w * previous + (1 - w) * new.

    weight: w in [0, 1); 0 passes frames through. Keeps one float32 accumulator and one uint8
    output buffer per frame shape: no allocation per frame. The returned array is that buffer,
    overwritten by the next call: copy it to keep it.
    """

    def __init__(self, weight: float) -> None:
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"CropBlender weight must be in [0, 1), got {weight}")
        self.weight = float(weight)
        self._acc: np.ndarray | None = None
        self._out = np.empty(0, np.uint8)

    def reset(self) -> None:
        """Forget the previous crop: the next one passes through."""
        self._acc = None

    def blend(self, crop: np.ndarray) -> np.ndarray:
        """crop: (H,W,3) uint8. Returns (H,W,3) uint8, the blended crop (an internal buffer)."""
        if self.weight == 0.0:
            return crop
        if self._acc is None or self._acc.shape != crop.shape:
            self._acc = crop.astype(np.float32)
            self._out = np.empty(crop.shape, dtype=np.uint8)
        else:
            cv2.accumulateWeighted(crop, self._acc, 1.0 - self.weight)
        cv2.convertScaleAbs(self._acc, dst=self._out)
        return self._out


class CreasesDrawn(BasePart):
    """The actor's folds (measured by the expression chain) carried onto the crop."""

    name, stage = "creases", "render"

    def __init__(self, creases: Creases) -> None:
        self.creases = creases

    def reset(self) -> None:
        self.creases.reset()

    def apply(self, state: FrameState) -> FrameState:
        state.crop = self.creases.apply(state.crop, state.creases, state.drawn)
        return state


class PresetCrop(BasePart):
    """While a preset is on, the crop blended with its pixel-regression model's (`presets`)."""

    name, stage = "preset_crop", "render"

    def __init__(self, presets: PresetMixer) -> None:
        self.presets = presets

    def apply(self, state: FrameState) -> FrameState:
        if self.presets.active:
            target = state.target
            state.crop = self.presets.blend_crop(state.crop, target.crop, target.landmarks_crop)
        return state


class CropBlend(BasePart):
    """Rendered crops blended over time (`smoothing.crop_blend`; 0 = off). blender: the
    `CropBlender`, or None when off."""

    name, stage = "crop_blend", "smooth"

    def __init__(self, options) -> None:
        self.options = options  # `smoothing` (its crop_blend)
        weight = options.crop_blend
        self.blender = CropBlender(weight) if weight > 0 else None

    def apply(self, state: FrameState) -> FrameState:
        if self.blender is not None:
            state.crop = self.blender.blend(state.crop)
        return state


class Colour(BasePart):
    """The crop's colours matched to the target's (`renderer.colour_match`, for a renderer that
    shifts colours)."""

    name, stage = "colour", "composite"

    def apply(self, state: FrameState) -> FrameState:
        state.crop = state.target.compositor.match(state.crop)
        return state


class Blend(BasePart):
    """The crop blended into the target's own crop (`renderer.blend`: no seam, no halo)."""

    name, stage = "blend", "composite"

    def apply(self, state: FrameState) -> FrameState:
        state.crop = state.target.compositor.blended(state.crop)
        return state


class Paste(BasePart):
    """The crop pasted into the target's frame over its feathered mask."""

    name, stage = "paste", "composite"

    def apply(self, state: FrameState) -> FrameState:
        state.output, state.box = state.target.compositor.place(state.crop)
        return state


class Detail(BasePart):
    """The picture's fine detail, moved with the drawn face, put back (`renderer.detail`);
    only for a renderer that moves the face (a repainting one draws its own)."""

    name, stage = "detail", "composite"

    def __init__(self, renderer) -> None:
        self.renderer = renderer

    def apply(self, state: FrameState) -> FrameState:
        drawn = state.drawn if moves_face(self.renderer) else None
        state.target.compositor.add_detail(state.box, drawn, state.crop)
        return state


class HeadRegionMove(BasePart):
    """The target's head (face, hair, neck) moved by the actor's head pose over a background
    that stays (`head.motion`)."""

    name, stage = "head_region", "composite"

    def __init__(self, motion: MotionStage) -> None:
        self.motion = motion

    def apply(self, state: FrameState) -> FrameState:
        state.output = self.motion.move_head(state.target, state.output, state.pose)
        return state


class Alpha(BasePart):
    """The avatar's mask of the frame (`compose.background`; None: the picture's, nothing)."""

    name, stage = "alpha", "composite"

    def __init__(self, motion: MotionStage, avatar) -> None:
        self.motion, self.avatar = motion, avatar

    def apply(self, state: FrameState) -> FrameState:
        if self.avatar is not None:
            state.alpha = self.motion.alpha(state.target, state.pose, self.avatar)
            self.avatar.good(state.alpha)
        return state


class Hold(BasePart):
    """The frame kept as the last good one: held, then faded, while the face is lost."""

    name, stage = "hold", "composite"

    def __init__(self, face_lost: FaceLostPolicy) -> None:
        self.face_lost = face_lost

    def apply(self, state: FrameState) -> FrameState:
        self.face_lost.good(state.output)
        return state


class Fade(BasePart):
    """A target switch's cross-fade from the last frame shown (`stream.crossfade_s`)."""

    name, stage = "crossfade", "composite"
    every_frame, counted = True, False

    def __init__(self, crossfade: CrossFade) -> None:
        self.crossfade = crossfade

    def apply(self, state: FrameState) -> FrameState:
        state.output = self.crossfade.apply(state.output, state.t_s)
        return state


def build_compose_chain(
    config: Config,
    *,
    renderer,
    motion: MotionStage,
    creases: Creases,
    presets: PresetMixer,
    face_lost: FaceLostPolicy,
    crossfade: CrossFade,
    avatar,
) -> Chain:
    """The compose chain for one stream. The parts shared with the expression chain or the live
    controls are passed in (see `reenact.pipeline.expression.build_expression_chain`); avatar:
    the stream's `AvatarAlpha`, None when the background is the picture's."""
    return Chain(
        [
            CreasesDrawn(creases),
            PresetCrop(presets),
            CropBlend(config.smoothing),
            Colour(),
            Blend(),
            Paste(),
            Detail(renderer),
            HeadRegionMove(motion),
            Alpha(motion, avatar),
            Hold(face_lost),
            Fade(crossfade),
        ]
    )
