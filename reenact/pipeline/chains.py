"""The one place a stream's two chains are built from the config, with the parts they share.

    parts = build_chains(config, fuser=fuser, renderer=renderer)
    state = parts.expression.run(FrameState(...))    # landmark space: J_gen and the drawing
    state.crop = renderer.render(state.drawn)
    parts.compose.run(state)                          # pixels: the frame to send

`reenact.pipeline.expression` and `reenact.pipeline.compose` list their parts in order; the
objects both chains (or the live controls) reach are made here once: the actor's neutral, the
head motion and eyes, the creases, the presets, the face-lost hold, the cross-fade and the
avatar's mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reenact.config import Config
from reenact.landmarks.neutral import NeutralCalibrator
from reenact.pipeline.background import AvatarAlpha
from reenact.pipeline.compose import build_compose_chain
from reenact.pipeline.composite import CrossFade
from reenact.pipeline.creases import Creases
from reenact.pipeline.expression import actor_neutral, build_expression_chain
from reenact.pipeline.face_lost import FaceLostPolicy
from reenact.pipeline.frame import Chain
from reenact.pipeline.motion import MotionStage
from reenact.pipeline.presets import PresetMixer


@dataclass
class StreamParts:
    """A stream's chains and the stateful parts they share (`build_chains`).

    given: the actor's neutral was given (not calibrated); avatar: the avatar's mask of each
    output, None when the background is the picture's."""

    expression: Chain
    compose: Chain
    calibrator: NeutralCalibrator
    given: bool
    motion: MotionStage
    creases: Creases
    presets: PresetMixer
    face_lost: FaceLostPolicy
    crossfade: CrossFade
    avatar: AvatarAlpha | None


def build_chains(
    config: Config,
    *,
    fuser,
    renderer,
    source_neutral: np.ndarray | None = None,
    moving_target: bool = False,
) -> StreamParts:
    """Both chains for one stream. source_neutral: see `expression.actor_neutral`;
    moving_target: the target is a video, whose head is its own (not turned, not moved)."""
    s, options = config.stream, config.compose
    calibrator, given = actor_neutral(config, source_neutral)
    motion = MotionStage(config, neutral_given=given)
    motion.moves_frame = not moving_target
    creases = Creases(size=config.renderer.size, strength=options.creases, frames=calibrator.frames)
    presets = PresetMixer.from_config(config)  # expression presets (keys 1-6)
    face_lost = FaceLostPolicy(hold_s=s.hold_s, fade_s=s.fade_s)
    crossfade = CrossFade()
    avatar = AvatarAlpha() if options.background != "picture" else None
    expression = build_expression_chain(
        config,
        fuser=fuser,
        renderer=renderer,
        calibrator=calibrator,
        motion=motion,
        creases=creases,
        presets=presets,
    )
    compose = build_compose_chain(
        config,
        renderer=renderer,
        motion=motion,
        creases=creases,
        presets=presets,
        face_lost=face_lost,
        crossfade=crossfade,
        avatar=avatar,
    )
    return StreamParts(
        expression,
        compose,
        calibrator,
        given,
        motion,
        creases,
        presets,
        face_lost,
        crossfade,
        avatar,
    )
