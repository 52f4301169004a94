"""Discards frames (benchmarks, dry runs); counts them in `frames_written`."""

from __future__ import annotations

import logging

import numpy as np

from reenact.errors import ReenactError
from reenact.plugin_api import BaseSink


log = logging.getLogger("reenact.sinks")  # under reenact's logger: shown by default, -q hides it


class NullSink(BaseSink):
    """Checks each frame's size and type like any sink, then drops it."""

    name = "null"

    def __init__(self, config: BaseSink.Options, *, width: int, height: int, fps: float) -> None:
        super().__init__(width=width, height=height, fps=fps)
        self.config = config
        log.info("output: none (--sink null)")

    def write(self, image: np.ndarray) -> None:
        if self._closed:
            raise ReenactError("null sink: write after close()")
        self.check_frame(image)
        self.frames_written += 1
