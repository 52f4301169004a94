"""A still image repeated as an endless stream (the live loop's max_frames / duration stops it).

Loaded once with `reenact.imageio.load_image` (alpha, grayscale, 16-bit, EXIF and huge images
handled), optionally resized to `config.width` x `config.height`, served at `config.fps` (30 when 0).
Each frame is a fresh copy, so a consumer may draw on it.
"""

from __future__ import annotations

import cv2
import numpy as np

from dataclasses import dataclass
from pathlib import Path

from reenact.config.schema import Count, NonNegative
from reenact.errors import InputError
from reenact.imageio import load_image
from reenact.plugin_api import BaseSource, Frame, RealtimePacer
from reenact.video import check_regular_file

DEFAULT_FPS = 30.0
MAX_SIDE = 4096


class ImageSource(BaseSource):
    """The same picture, frame after frame; `read()` never returns None before close()."""

    name = "image"
    suffixes = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".pgm", ".ppm")

    @dataclass(frozen=True)
    class Options:
        """`source.path`; `source.width` / `height` (0 = native, one side keeps the aspect);
        `source.fps` (0 = 30); `source.realtime`: paced like a camera."""

        path: str = ""  # the picture, repeated as an endless stream (`image:PATH`)
        width: Count = 0
        height: Count = 0
        fps: NonNegative = 0.0
        realtime: bool = False

    def __init__(self, config: Options) -> None:
        super().__init__()
        if config.width < 0 or config.height < 0 or config.fps < 0:
            raise InputError(
                f"image source: width/height/fps must be >= 0, got "
                f"{config.width}x{config.height} @ {config.fps}"
            )
        if Path(config.path).exists():  # a FIFO would block load_image until a writer comes
            check_regular_file(Path(config.path), "image")
        image = load_image(config.path, max_side=MAX_SIDE)
        height, width = image.shape[:2]
        if config.width and not config.height:
            size = (config.width, max(1, round(height * config.width / width)))
        elif config.height and not config.width:
            size = (max(1, round(width * config.height / height)), config.height)
        else:
            size = (config.width or width, config.height or height)
        if size != (width, height):
            shrinking = size[0] * size[1] < width * height
            image = cv2.resize(
                image, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
            )
        self.path = config.path
        self.image = np.ascontiguousarray(image)
        self.width, self.height = size
        self.fps = float(config.fps or DEFAULT_FPS)
        self.live = bool(config.realtime)
        self._pacer = RealtimePacer(fps=self.fps) if self.live else None

    @classmethod
    def probe(cls, config: Options | None = None) -> str | None:
        """Why `config.path` cannot be read, when the file system alone tells (a FIFO, a device:
        a run asks before it loads its models); None otherwise."""
        path = Path(config.path) if config is not None else None
        if path is None or not path.exists():
            return None
        try:
            check_regular_file(path, "image")
        except InputError as exc:
            return str(exc)
        return None

    def read(self) -> Frame | None:
        if self._closed:
            return None
        pts_s = self._count / self.fps
        if self._pacer is not None:
            self._pacer.due(pts_s)
        return self._frame(self.image.copy(), pts_s)
