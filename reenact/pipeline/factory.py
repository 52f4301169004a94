"""The one place that builds the per-frame pipeline from the config.

The target (a still, or a moving target video), the fuser (`reenact.fusion`, picked by
`fusion.kind`), the renderer (`reenact.render`, picked by `renderer.kind`) and the `Reenactor`
that strings them together.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reenact.config import Config
from reenact.fusion import build_fuser
from reenact.pipeline.reenactor import Reenactor
from reenact.pipeline.target import PreparedTarget, prepare_target
from reenact.pipeline.target_video import TargetVideo
from reenact.video import is_video
from reenact.pipeline.timing import StageTimer
from reenact.render import build_renderer


def open_target(config: Config) -> tuple[PreparedTarget, TargetVideo | None]:
    """`stream.target` prepared: (the first target, the moving target or None for a still)."""
    path = config.stream.target
    if is_video(path) and config.stream.target_end != "still":
        video = TargetVideo(path, config)
        return video.first, video
    return prepare_target(path, config), None


def build_reenactor(
    config: Config,
    *,
    timer: StageTimer,
    fuser=None,
    renderer=None,
    source_neutral: np.ndarray | None = None,
) -> Reenactor:
    """The whole per-frame pipeline. fuser / renderer: ready-made parts (the benchmark's, the
    evaluation's); None = built from the config. source_neutral: see `Reenactor`."""
    target, target_video = open_target(config)
    return Reenactor(
        config=config,
        target=target,
        target_video=target_video,
        fuser=fuser if fuser is not None else build_fuser(config),
        renderer=renderer if renderer is not None else build_renderer(config),
        timer=timer,
        source_neutral=source_neutral,
    )


def describe(part: object) -> str:
    """One line naming a built fuser or renderer, with its weights file and backend if any."""
    words = [type(part).__name__]
    weights = getattr(part, "weights", None)
    if weights:
        words.append(f"({Path(weights).name})")
    backend = getattr(part, "backend_name", None)
    if backend:
        words.append(f"on {backend}")
    return " ".join(words)
