"""The expression chain: every step of a frame in landmark space, in order.

    smoothing -> calibration -> creases_measure -> neutral -> head_pose -> brow_rest ->
    mouth_rest -> fuser -> eyes -> gains -> presets -> boost -> turn

The actor's tracked landmarks (478,3) in crop pixels come in (`FrameState.tracked`); J_gen
(`fused`, turned with the actor's head) and what the renderer draws (`drawn`: J_gen with the
boost) go out, with the head pose the compose chain moves the target's head by (`pose`).
Each part follows `reenact.pipeline.frame`'s contract; `build_expression_chain` is the one
place that builds them from the config. `reset()` is a new calibration of the actor: parts
that learnt from the actor's first frames forget it (the smoothing does not: it is reset when
the face is lost).
"""

from __future__ import annotations

from reenact.config import Config
from reenact.fusion.gains import RegionGains
from reenact.fusion.memo import NeutralMemo
from reenact.landmarks.neutral import NeutralCalibrator
from reenact.landmarks.smoothing import LandmarkSmoother
from reenact.pipeline.creases import Creases
from reenact.pipeline.frame import BasePart, Chain, FrameState
from reenact.pipeline.head_motion import HeadPose, eyes_moved, turn_centre
from reenact.pipeline.motion import MotionStage
from reenact.pipeline.presets import PresetMixer
from reenact.render.boost import ExpressionBoost


class Smoothing(BasePart):
    """The actor's landmarks through the One Euro filter opened by the face's own moves, while
    `state.smooth` (the live toggle). filter: the `LandmarkSmoother`, which forgets the face when
    it is lost (not on a new calibration: `reset` keeps it)."""

    name, stage = "smoothing", "smooth"

    def __init__(self, options, *, size: int) -> None:
        self.options = options  # `smoothing` (SmoothingConfig)
        # the betas are per crop pixel at 256: the same motion is twice as fast at 512
        self.filter = LandmarkSmoother(
            min_cutoff=options.min_cutoff,
            beta=options.beta,
            d_cutoff=options.d_cutoff,
            expression_beta=options.expression_beta,
            head_beta=options.head_beta,
            scale=256 / size,
        )

    def apply(self, state: FrameState) -> FrameState:
        tracked = state.tracked
        state.source = (
            self.filter.filter(tracked.source, state.t_s) if state.smooth else tracked.source
        )
        return state


class Calibration(BasePart):
    """The actor's neutral from their first frames (a first one, then refined), and the head
    pose the head moves from."""

    name, stage = "calibration", "smooth"

    def __init__(self, calibrator: NeutralCalibrator, motion: MotionStage) -> None:
        self.calibrator, self.motion = calibrator, motion

    def reset(self) -> None:
        self.calibrator.reset()

    def apply(self, state: FrameState) -> FrameState:
        if not self.calibrator.complete:
            self.calibrator.add(state.source)
            self.motion.calibrate(state.tracked.alignment)
        return state


class CreasesMeasure(BasePart):
    """The actor's folds in their own frame (`Creases.ratio`; None = none), measured before the
    frame may wait for a neutral: while the actor's reference is not held, the frame is a
    candidate for it."""

    name, stage = "creases_measure", "render"

    def __init__(self, creases: Creases, calibrator: NeutralCalibrator) -> None:
        self.creases, self.calibrator = creases, calibrator

    def reset(self) -> None:
        self.creases.reset()

    def apply(self, state: FrameState) -> FrameState:
        c, tracked = self.creases, state.tracked
        state.creases = None
        if tracked.alignment is None or (c.held and not c.active):
            return state
        crop = tracked.alignment.crop_image(state.image)
        if not c.held:
            c.observe(crop, tracked.source, self.calibrator.neutral, self.calibrator.complete)
        state.creases = c.ratio(crop, tracked.source)
        return state


class Neutral(BasePart):
    """The actor's neutral (L_s); the frame ends here (nothing rendered) until there is one."""

    name, stage = "neutral", "smooth"

    def __init__(self, calibrator: NeutralCalibrator) -> None:
        self.calibrator = calibrator

    def apply(self, state: FrameState) -> FrameState:
        state.source_neutral = self.calibrator.neutral
        state.stop = state.source_neutral is None
        return state


class _MotionPart(BasePart):
    """A part whose state lives in the stream's `MotionStage` (head motion, rests, eyes)."""

    stage = "fuse"

    def __init__(self, motion: MotionStage) -> None:
        self.motion = motion


class HeadPoseUndone(_MotionPart):
    """The actor's head pose taken out of the expression (every head motion mode), kept in
    `state.pose` to be redone (`Turn`) and composited (a moving target's head is its own)."""

    name = "head_pose"

    def reset(self) -> None:
        self.motion.head.reset()

    def apply(self, state: FrameState) -> FrameState:
        tracked = state.tracked
        state.expression, state.pose = self.motion.head.observe(
            state.source, state.source_neutral, tracked.alignment, state.t_s, tracked.source
        )
        if not self.motion.moves_frame:
            state.pose = HeadPose()
        return state


class BrowRestPart(_MotionPart):
    """The actor's resting brows taken as rest (`reenact.fusion.brows`)."""

    name = "brow_rest"

    def reset(self) -> None:
        self.motion.forget_brows()

    def apply(self, state: FrameState) -> FrameState:
        state.expression = self.motion.brows.apply(state.expression, state.source_neutral)
        return state


class MouthRestPart(_MotionPart):
    """The actor's closed mouth taken as closed (`reenact.fusion.mouth_rest`)."""

    name = "mouth_rest"

    def reset(self) -> None:
        self.motion.forget_mouth()

    def apply(self, state: FrameState) -> FrameState:
        state.expression = self.motion.mouth.apply(state.expression, state.source_neutral)
        return state


class Fusion(BasePart):
    """J_gen = the fuser's (`reenact.fusion`) of the expression onto the target's neutral L_t
    (its estimate or its picture's landmarks: `fusion.target_neutral`)."""

    name, stage = "fuser", "fuse"

    def __init__(self, fuser, motion: MotionStage) -> None:
        self.fuser, self.motion = fuser, motion

    def apply(self, state: FrameState) -> FrameState:
        state.neutral = state.target.neutral(self.motion.estimated_neutral)
        state.fused = self.fuser.fuse(
            state.expression, state.source_neutral, state.neutral, state.intensity
        )
        return state


class Eyes(_MotionPart):
    """Gaze and eye openness carried after any fuser (`reenact.fusion.eyes`)."""

    name = "eyes"

    def reset(self) -> None:
        self.motion.eyes.reset()
        self.motion.eyes.forget_open_eye()

    def apply(self, state: FrameState) -> FrameState:
        state.fused = self.motion.eyes.apply(
            state.fused, state.expression, state.source_neutral, state.neutral
        )
        return state


class Gains(BasePart):
    """Per-region gains on J_gen (`fusion.gains`, live on the panel). gains: `RegionGains`."""

    name, stage = "gains", "fuse"

    def __init__(self, options) -> None:
        self.options = options  # `fusion.gains`
        self.gains = RegionGains(options.as_dict())

    def apply(self, state: FrameState) -> FrameState:
        state.fused = self.gains.apply(state.fused, state.neutral)
        return state


class Presets(BasePart):
    """Fired expression presets mixed into J_gen (`reenact.pipeline.presets`)."""

    name, stage = "presets", "fuse"

    def __init__(self, presets: PresetMixer, options) -> None:
        self.presets, self.options = presets, options  # `presets`

    def apply(self, state: FrameState) -> FrameState:
        if self.presets.active:
            state.fused = self.presets.apply(state.fused, state.neutral, state.t_s)
        return state


class Boost(BasePart):
    """What the renderer draws: a smile's widening and the brows' raise drawn larger than J_gen
    (`reenact.render.boost`: the drawing has no folds). boost: `ExpressionBoost`."""

    name, stage = "boost", "fuse"

    def __init__(self, boost: ExpressionBoost, options) -> None:
        self.boost, self.options = boost, options  # `renderer.boost`

    def apply(self, state: FrameState) -> FrameState:
        state.drawn = self.boost.apply(state.fused, state.neutral)
        return state


class Turn(_MotionPart):
    """The head pose redone: J_gen and the drawing turned by the bounded pitch and yaw about a
    point behind the target's face; in "full" the eyes' shift the turn made is taken off the
    pose the head region moves by."""

    name = "turn"

    def __init__(self, motion: MotionStage) -> None:
        super().__init__(motion)
        self.centre = NeutralMemo(turn_centre)  # the target's, found once per target neutral

    def apply(self, state: FrameState) -> FrameState:
        fused, drawn, pose = state.fused, state.drawn, state.pose
        centre = self.centre(state.neutral)
        turned = pose.turn(fused, centre)
        # before the shift below, by the same pose: both turns share its one rotation
        state.drawn = turned if drawn is fused else pose.turn(drawn, centre)
        if self.motion.mode == "full" and state.tracked.alignment is not None:
            # the actor's eye shift in the image includes what their turn moved the eyes; the
            # turned mesh moves the target's eyes by that already: the head region takes the rest
            pose = pose.shifted(-eyes_moved(fused, turned, state.target.alignment))
        state.fused, state.pose = turned, pose
        return state


def actor_neutral(config: Config, source_neutral=None) -> tuple[NeutralCalibrator, bool]:
    """The actor's neutral calibrator and whether the neutral was given: `source_neutral`
    (478,3) when known up front (the demo's scripted actor), else `calibration.neutral_path`'s, else
    calibrated from the first `calibration.neutral_frames` frames with a face."""
    s = config.calibration
    frames = max(1, s.neutral_frames)
    calibrator = NeutralCalibrator(frames=frames, window=max(frames, s.neutral_window))
    if source_neutral is not None:
        calibrator.set(source_neutral)
    elif s.neutral_path:
        calibrator.load(s.neutral_path)
    return calibrator, source_neutral is not None or bool(s.neutral_path)


def build_expression_chain(
    config: Config,
    *,
    fuser,
    renderer,
    calibrator: NeutralCalibrator,
    motion: MotionStage,
    creases: Creases,
    presets: PresetMixer,
) -> Chain:
    """The expression chain for one stream. The parts that the compose chain or the live
    controls share are passed in: the actor's neutral, the head motion and eyes, the creases
    (measured here, drawn there) and the presets (mixed here, blended into the crop there)."""
    boost = ExpressionBoost.from_config(config, renderer)
    return Chain(
        [
            Smoothing(config.smoothing, size=config.renderer.size),
            Calibration(calibrator, motion),
            CreasesMeasure(creases, calibrator),
            Neutral(calibrator),
            HeadPoseUndone(motion),
            BrowRestPart(motion),
            MouthRestPart(motion),
            Fusion(fuser, motion),
            Eyes(motion),
            Gains(config.fusion.gains),
            Presets(presets, config.presets),
            Boost(boost, config.renderer.boost),
            Turn(motion),
        ]
    )
