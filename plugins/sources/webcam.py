"""A camera through OpenCV's VideoCapture, by index ("0") or device path ("/dev/video2").

Requests `config.width` x `config.height` @ `config.fps` (1280x720@30 when they are 0) and reports
what the camera actually delivers. Frames are converted BGR -> RGB and, if the camera changes its
size later (e.g. after a reconnect), resized back to the size reported at open.

A camera that fails mid-stream (unplugged, taken by another app) makes `read()` return None; the
live loop then calls `reopen()` every `reconnect_s` seconds until it returns True. `switch()` moves
to another camera without a restart (the panel's camera picker); `cameras()` lists them by name
(`reenact_plugins.sources.camera_names`). A camera of another shape than the one reported at open
is cropped to that shape before it is resized, so a face is never squashed.

On Linux, `probe(options)` checks the device node (`/dev/videoN`) before OpenCV is asked, so a
missing camera is one line at once; OpenCV's own `[ WARN ]` / `[ERROR]` lines are silenced while a
camera opens, since the error raised then says the same once, with what to do.
"""

from __future__ import annotations

import platform
import re
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from reenact.config.schema import Count, NonNegative
from reenact.errors import DeviceError
from reenact.plugin_api import BaseSource, Frame
from reenact_plugins.sources.camera_names import (
    device_root,
    list_cameras,
    opencv_quiet,
    video_nodes,
)

DEFAULT_SIZE = (1280, 720)
DEFAULT_FPS = 30.0
_API_DOMAIN = 100  # OpenCV reads an index >= 100 as backend id + camera number (200 + 1: V4L2 #1)


def parse_device(path: str) -> int | str:
    """'0' -> 0 (an index); '/dev/video2' or a URL stays a string."""
    text = str(path).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if not text:
        return 0
    return text


def list_video_devices() -> list[str]:
    """`/dev/video*` nodes on Linux, sorted by number; empty elsewhere."""
    return video_nodes()


def device_key(device: int | str) -> str:
    """How the camera list names `device`: "2" for 2 and for /dev/video2 (Linux), else as is."""
    match = re.fullmatch(r"/dev/video(\d+)", str(device))
    return match.group(1) if match and platform.system() == "Linux" else str(device)


def device_node(device: int | str) -> str | None:
    """The Linux device node OpenCV's V4L2 backend opens for `device`; None for a URL, a
    pipeline, the autodetect index (-1) or another platform."""
    if platform.system() != "Linux":
        return None
    if isinstance(device, int):
        return f"/dev/video{device % _API_DOMAIN}" if device >= 0 else None
    return device if device.startswith("/dev/") else None


def missing_camera(device: int | str) -> str | None:
    """Why `device` cannot be a camera here (its device node is absent), or None."""
    node = device_node(device)
    if node is None or (device_root() / node.lstrip("/")).exists():
        return None
    found = list_video_devices()
    there = f"cameras here: {', '.join(found)}" if found else "no camera found on this machine"
    name = f"camera {device}" if isinstance(device, int) else f"camera '{device}'"
    return (
        f"webcam: cannot open {name}: {node} does not exist ({there}); connect one, check "
        f"permissions (group 'video'), use --source video:FILE, or run `reenact doctor`"
    )


def _to_rgb(image: np.ndarray) -> np.ndarray:
    """A decoded camera frame (BGR, BGRA or gray, uint8) -> (H, W, 3) uint8 RGB."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class WebcamSource(BaseSource):
    """A live camera. `device` is the index or path; `reconnect_s` how often to retry."""

    name = "webcam"
    can_reopen = True
    live = True

    @dataclass(frozen=True)
    class Options:
        """`source.path`: an index or a device path (`webcam:DEVICE`); `source.width` /
        `height` / `fps`: requested (0 = 1280x720 @ 30); `source.reconnect_s`: retry period."""

        path: str = "0"
        width: Count = 0
        height: Count = 0
        fps: NonNegative = 0.0
        reconnect_s: NonNegative = 1.0

    def __init__(self, config: Options) -> None:
        super().__init__()
        self.device = parse_device(config.path)
        self.label = device_key(self.device)
        self.reconnect_s = float(config.reconnect_s)
        self.requested = (
            int(config.width or DEFAULT_SIZE[0]),
            int(config.height or DEFAULT_SIZE[1]),
            float(config.fps or DEFAULT_FPS),
        )
        self._lock = threading.Lock()  # reopen() may run on another thread than read()
        self._capture, first = self._open(self.device)
        height, width = first.shape[:2]
        self.width, self.height = width, height
        reported_fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = reported_fps if 0 < reported_fps < 1000 else self.requested[2]
        self._pending: np.ndarray | None = first

    @staticmethod
    def _describe(device: int | str) -> str:
        return f"camera {device}" if isinstance(device, int) else f"camera '{device}'"

    def _open(self, device: int | str) -> tuple[cv2.VideoCapture, np.ndarray]:
        """Open `device`, request size and rate, and read one frame (RGB) to prove it works."""
        with opencv_quiet():
            capture = cv2.VideoCapture(device)
            if not capture.isOpened():
                capture.release()
                raise DeviceError(
                    missing_camera(device)
                    or (
                        f"webcam: cannot open {self._describe(device)}; check it is connected and "
                        f"not in use by another app, or run `reenact doctor` to list cameras"
                    )
                )
            width, height, fps = self.requested
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))  # 720p30, USB 2
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            capture.set(cv2.CAP_PROP_FPS, fps)
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame wins: no queue behind it
            ok, image = capture.read()
        if not ok or image is None or image.size == 0:
            capture.release()
            raise DeviceError(
                f"webcam: {self._describe(device)} opened but delivers no frames; close other "
                f"apps using it, or run `reenact doctor`"
            )
        return capture, _to_rgb(image)

    def _fit(self, image: np.ndarray) -> np.ndarray:
        """Keep the size reported at open even if the camera renegotiated another one (or
        another camera came in): cropped to that shape at the centre, then resized."""
        height, width = image.shape[:2]
        if (width, height) == (self.width, self.height):
            return image
        scale = max(self.width / width, self.height / height)
        crop_w, crop_h = (
            min(width, round(self.width / scale)),
            min(height, round(self.height / scale)),
        )
        left, top = (width - crop_w) // 2, (height - crop_h) // 2
        return cv2.resize(
            image[top : top + crop_h, left : left + crop_w],
            (self.width, self.height),
            interpolation=cv2.INTER_AREA,
        )

    def read(self) -> Frame | None:
        """The newest camera frame (RGB), or None when the camera failed (then call reopen())."""
        with self._lock:
            if self._closed or self._capture is None:
                return None
            if self._pending is not None:
                image, self._pending = self._pending, None
                return self._frame(self._fit(image))
            ok, bgr = self._capture.read()
            if not ok or bgr is None or bgr.size == 0:
                self._capture.release()
                self._capture = None
                return None
            return self._frame(self._fit(_to_rgb(bgr)))

    def reopen(self) -> bool:
        """Try once to open the camera again; True when frames flow again, False to retry later."""
        with self._lock:
            if self._closed:
                return False
            if self._capture is not None:
                self._capture.release()
                self._capture = None
            try:
                self._capture, self._pending = self._open(self.device)
            except DeviceError:
                return False
            return True

    def switch(self, path: str) -> None:
        """Move to the camera `path` (as `source.path`: an index or a device path) between two
        reads. The new camera opens before the current one is released, so one that fails
        (DeviceError, saying why) leaves the current camera running; its frames keep the size
        reported at open (`_fit`)."""
        device = parse_device(path)
        with self._lock:
            if self._closed:
                raise DeviceError(f"webcam: closed; cannot switch to {self._describe(device)}")
            if device_key(device) == self.label and self._capture is not None:
                return
            capture, first = self._open(device)
            if self._capture is not None:
                self._capture.release()
            self._capture, self._pending = capture, first
            self.device, self.label = device, device_key(device)

    @classmethod
    def cameras(cls, *, probe: bool = False) -> list[dict[str, str]]:
        """The cameras here, `{"device": "N", "name": "..."}` each, named where the platform
        can say (see camera_names.list_cameras; `probe` opens indexes where it cannot)."""
        return list_cameras(probe=probe)

    def _close(self) -> None:
        with self._lock:
            if self._capture is not None:
                self._capture.release()
                self._capture = None

    @classmethod
    def probe(cls, config: Options | None = None) -> str | None:
        """None when a camera is likely present; else why not and what to do. With `config`,
        its device's node must exist (Linux); without, any camera will do."""
        if platform.system() != "Linux":
            return None  # Windows/macOS have no cheap listing; opening tells
        if config is not None:
            return missing_camera(parse_device(config.path))
        if not video_nodes():
            return (
                "webcam: no camera found (no /dev/video* device); connect one, check "
                "permissions (group 'video'), or use --source video:FILE"
            )
        return None
