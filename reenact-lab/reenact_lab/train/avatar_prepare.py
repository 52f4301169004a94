"""Preparing an avatar's data here (MediaPipe, PyAV): track the clips, pick the picture, prepare
its neutral as a target would be, and measure the expression range.

The picture is the most neutral training frame of the first clip (the whole video frame, not the
crop), or the picture the user names; its neutral is `PreparedTarget.neutral()` of that picture,
what `run` / `live` would fuse onto.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reenact.config import Config
from reenact.errors import InputError
from reenact_lab import get_logger
from reenact_lab.train.avatar_data import AvatarClip, AvatarData, neutral_row
from reenact_lab.train.avatar_range import expression_range, missing_expressions
from reenact_lab.train.avatar_track import TRACK_FPS, track_clip

log = get_logger(__name__)


def _picture(clips: list[AvatarClip], picture: str, config: Config) -> tuple[str, np.ndarray]:
    """(where it came from, (H,W,3) uint8 RGB): the named picture, else the first clip's most
    neutral training frame."""
    if picture:
        from reenact.pipeline.target import load_target_image

        _, image = load_target_image(picture, config)
        return picture, np.ascontiguousarray(image[:, :, :3])
    from reenact.video import read_frame

    clip = clips[0]
    train, _ = clip.split()
    row = neutral_row(clip.landmarks, train)
    index = int(clip.frame_index[row])
    return f"{clip.name}#{index}", read_frame(clip.source, index)


def prepared_picture(name: str, image: np.ndarray, config: Config):
    """The picture as `reenact.pipeline.target` prepares a target, its neutral estimated
    (`PreparedTarget.neutral()`: what `run` / `live` fuse onto)."""
    from reenact.pipeline.target import prepare_target_image

    target = prepare_target_image(name, image, config)
    target.estimate_neutral(config)
    return target


def prepare_avatar_data(
    videos: list[str], config: Config, *, size: int, picture: str = "", cache: Path | None = None
) -> AvatarData:
    """Track `videos` (one person; InputError for several people or no usable face), and
    return the data a fine-tune needs (crops as the carried JPEGs give them back)."""
    if not videos:
        raise InputError("no video given: name one or more clips of the person")
    from reenact.video import clip_fps, is_video

    for video in videos:  # every file checked before minutes go into tracking the first
        if not Path(video).is_file():
            raise InputError(f"{video}: video not found")
        if not is_video(video):
            raise InputError(
                f"{video}: a still picture; an avatar learns from video of the person (a still "
                "target keeps the shipped generator: a one-shot fine-tune did not help)"
            )
        clip_fps(video)
    clips = []
    for video in videos:
        clip = track_clip(video, config, size=size, cache=cache)
        clips.append(clip)
        log.info(
            "%s: %d tracked frames with a face (%d frames, %.1f s, about %g tracked a second)",
            video,
            len(clip.frame_index),
            clip.frames,
            clip.seconds,
            TRACK_FPS,
        )
    source, image = _picture(clips, picture, config)
    target = prepared_picture(source, image, config)
    measures = expression_range(np.concatenate([c.landmarks for c in clips]))
    notes = missing_expressions(measures)
    return AvatarData(
        clips=clips,
        size=size,
        picture=image,
        neutral=target.neutral().astype(np.float32),
        picture_source=source,
        notes=[*notes, f"range: {measures}"],
        picture_crop=target.crop,
        picture_landmarks=target.landmarks_crop.astype(np.float32),
    )
