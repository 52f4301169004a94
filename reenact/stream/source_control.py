"""The opened source as a run reads it: mirrored (`source.mirror`, live from the panel) and, for a
camera, moved to another device without a restart (the panel's camera picker, `POST /camera`).

The move happens on the thread that reads the source (a live run's capture thread) at its next
read: the render loop never waits for a camera to open, and the capture's one-frame buffer still
lets the newest frame win. The mirror is applied there too, so the tracker, the reenactor and the
panel's camera preview all see the same, mirrored frame.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any

import cv2

from reenact.errors import ReenactError
from reenact.plugin_api import Frame, FrameSource

log = logging.getLogger(__name__)


class ControlledSource:
    """Wraps `source` (every other attribute is the source's own: size, fps, live, label...).

    mirror: flip every frame left-right (a plain flag, set from any thread).
    A source that can move to another device has `switch(path)` and `cameras()` (the webcam).
    """

    def __init__(self, source: FrameSource, *, mirror: bool = False) -> None:
        self.source = source
        self.mirror = mirror
        self.error = ""  # why the last camera switch failed; "" when it did not
        self._wanted: str | None = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name == "source":  # not yet set (a copy in the making): no recursion
            raise AttributeError(name)
        return getattr(self.source, name)

    @property
    def switchable(self) -> bool:
        """Whether the source can move to another device (a camera)."""
        return callable(getattr(self.source, "switch", None))

    def request_device(self, device: str) -> None:
        """Move to `device` at the next read (any thread; the last request wins). ValueError when
        the source is not a camera."""
        if not self.switchable:
            raise ValueError(
                f"camera: the source is '{self.source.name}', not a camera; start "
                "with --source webcam:N to pick cameras"
            )
        with self._lock:
            self._wanted = device

    def read(self) -> Frame | None:
        """The source's next frame, after a requested switch; mirrored when `mirror` is on."""
        if self._wanted is not None:
            self._switch()
        frame = self.source.read()
        if frame is None or not self.mirror:
            return frame
        return dataclasses.replace(frame, image=cv2.flip(frame.image, 1))

    def reopen(self) -> bool:
        """After a failure: a requested switch first (away from a lost camera), else reopen."""
        if self._wanted is not None and self._switch():
            return True
        return self.source.reopen()

    def _switch(self) -> bool:
        with self._lock:
            device, self._wanted = self._wanted, None
        if device is None:
            return False
        try:
            self.source.switch(device)
        except ReenactError as exc:  # the current camera keeps running; the panel shows why
            self.error = str(exc)
            log.warning("%s", exc)
            return False
        self.error = ""
        log.info("camera %s in use now", self.source.label)
        return True
