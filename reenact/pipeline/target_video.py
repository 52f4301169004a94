"""A moving target: a video whose frames are driven one after another.

The video is decoded and tracked once at start-up (up to `stream.target_max_frames`), so the live
loop only picks the next prepared frame. At its end the target loops or holds its last frame
(`stream.target_end`). Frames where the target's face is not found reuse the last landmarks.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

from reenact.config import Config
from reenact.errors import InputError
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.tracker import FaceTracker
from reenact.pipeline.blend import compositor_options
from reenact.pipeline.composite import Compositor
from reenact.pipeline.target import PreparedTarget, fit_frame
from reenact.video import read_frames

log = logging.getLogger(__name__)


def _decode(path: str, limit: int, max_side: int) -> list[np.ndarray]:
    """The first `limit` frames, upright (`reenact.video`), scaled to `max_side`."""
    return [fit_frame(image, max_side) for image in read_frames(path, limit)]


class TargetVideo:
    """Prepared frames of a target video; `next()` returns the next one (loop or hold)."""

    def __init__(self, path: str, config: Config) -> None:
        self.hold = config.stream.target_end == "hold"
        if config.compose.background != "picture":  # a segmentation per frame: 50-80 ms each
            log.warning(
                "compose.background=%s: a target video's frames are kept whole (not "
                "segmented); a still or RGBA target has its background cleared",
                config.compose.background,
            )
        frames = _decode(path, config.stream.target_max_frames, config.stream.max_output_side)
        self.targets = self._prepare(path, frames, config)
        self.index = -1
        self.ended = False

    @staticmethod
    def _prepare(path: str, frames: list[np.ndarray], config: Config) -> list[PreparedTarget]:
        from tqdm import tqdm

        size, name = config.renderer.size, Path(path).name
        prepared: list[PreparedTarget] = []
        last = None
        with FaceTracker(config.tracker, static=False) as tracker:
            for frame in tqdm(
                frames, desc="target video", unit="frame", file=sys.stderr, leave=False
            ):
                landmarks = tracker.track_one(frame)
                last = landmarks if landmarks is not None else last
                if last is None:
                    continue  # no face yet: skip the opening frames
                alignment = compute_alignment(last, size)
                crop = alignment.crop_image(frame)
                lm = alignment.landmarks_to_crop(last).astype(np.float32)
                # no detail layer: one per frame would be built on each frame's first use and
                # kept (tens of MB a frame); a video's frames are rarely sharper than the crop
                options = {**compositor_options(config), "detail": False}
                compositor = Compositor(
                    target_frame=frame, alignment=alignment, target_landmarks_crop=lm, **options
                )
                prepared.append(
                    PreparedTarget(name, frame, alignment, crop, lm, compositor, estimated=True)
                )  # each frame plays as it is
        if not prepared:
            raise InputError(f"{path}: no face found in the target video")
        return prepared

    @property
    def first(self) -> PreparedTarget:
        return self.targets[0]

    def next(self) -> PreparedTarget:
        """The next frame's target; at the end, the first again (loop) or the last (hold)."""
        if self.index + 1 >= len(self.targets):
            self.ended = True
            if self.hold:
                return self.targets[-1]
            self.index = -1
        self.index += 1
        return self.targets[self.index]
