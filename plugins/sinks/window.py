"""An OpenCV preview window (imshow), with hotkeys through `poll_key()` and text overlay lines.

Refuses to open where there is no display (Linux without DISPLAY / WAYLAND_DISPLAY) or where
OpenCV was built without a GUI (opencv-python-headless): Qt would otherwise abort the process.
"""

from __future__ import annotations

import logging
import os
import platform

import cv2
import numpy as np

from dataclasses import dataclass

from reenact.errors import DeviceError, ReenactError
from reenact.plugin_api import BaseSink

log = logging.getLogger("reenact.sinks")  # under reenact's logger: shown by default, -q hides it
FONT = cv2.FONT_HERSHEY_SIMPLEX
WINDOW_CLOSED_KEY = 27  # poll_key() reports a window closed by the user as Esc


def _gui_backend() -> str:
    """OpenCV's GUI line from its build information ('QT5', 'GTK3', 'NONE', ...)."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip()
    return ""


class WindowSink(BaseSink):
    """Shows frames in a resizable window titled `config.title`."""

    name = "window"
    realtime = True
    preview = True

    @dataclass(frozen=True)
    class Options:
        """`sink.title`: the window's title."""

        title: str = "reenact"

    def __init__(self, config: Options, *, width: int, height: int, fps: float) -> None:
        super().__init__(width=width, height=height, fps=fps)
        reason = self.probe(config)
        if reason is not None:
            raise DeviceError(reason)
        self.title = config.title or "reenact"
        self._bgr = np.empty((self.height, self.width, 3), np.uint8)
        self._overlay: list[str] = []
        self._key: int | None = None
        try:
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
            cv2.resizeWindow(self.title, self.width, self.height)
        except cv2.error as exc:
            reason = str(exc).strip().splitlines()[-1]
            raise DeviceError(f"window: cannot open a preview window: {reason}") from exc
        log.info("window open: '%s'", self.title)

    def set_overlay_lines(self, lines: list[str]) -> None:
        """Text drawn at the top-left of every following frame (e.g. per-stage timings)."""
        self._overlay = [str(line) for line in lines]

    def _draw_overlay(self) -> None:
        scale = max(0.4, self.height / 1080)
        step = int(28 * scale) + 4
        for row, line in enumerate(self._overlay):
            origin = (8, step * (row + 1))
            cv2.putText(self._bgr, line, origin, FONT, scale, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(self._bgr, line, origin, FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)

    def write(self, image: np.ndarray) -> None:
        """Show one (height, width, 3) uint8 RGB frame; also pumps window events."""
        if self._closed:
            raise ReenactError("window sink: write after close()")
        cv2.cvtColor(self.check_frame(image), cv2.COLOR_RGB2BGR, dst=self._bgr)
        if self._overlay:
            self._draw_overlay()
        cv2.imshow(self.title, self._bgr)
        key = cv2.waitKey(1)
        if key != -1:
            self._key = key & 0xFF
        self.frames_written += 1

    @property
    def is_open(self) -> bool:
        """False once the user closed the window (or close() was called)."""
        if self._closed:
            return False
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:
            return False

    def poll_key(self) -> int | None:
        """The last key pressed (as a byte, e.g. ord('q')), or None. Esc when the window closed."""
        if self._closed:
            return None
        key, self._key = self._key, None
        if key is None:
            pressed = cv2.waitKey(1)
            key = pressed & 0xFF if pressed != -1 else None
        if key is None and not self.is_open:
            return WINDOW_CLOSED_KEY
        return key

    def _close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass  # already closed by the user

    @classmethod
    def probe(cls, config: Options | None = None) -> str | None:
        """None when a window can be shown here; else why not and what to do."""
        gui = _gui_backend()
        if gui.upper().startswith("NONE") or "headless" in cv2.__file__:
            return (
                "window: OpenCV was built without GUI support (opencv-python-headless); "
                "install opencv-contrib-python, or use --sink stream or --sink file"
            )
        has_display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        if platform.system() == "Linux" and not has_display:
            return (
                "window: no display (DISPLAY is not set); run in a desktop session, or use "
                "--sink stream or --sink file"
            )
        return None
