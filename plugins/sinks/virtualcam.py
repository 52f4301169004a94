"""A virtual camera through pyvirtualcam (v4l2loopback on Linux, OBS Virtual Camera elsewhere).

Video-call apps (Zoom, Meet, Teams, OBS) then pick "reenact" as their camera. When no virtual
camera can be opened, the error says, for this OS, how to get one, and offers `--sink stream`.
"""

from __future__ import annotations

import glob
import logging
import platform
from pathlib import Path

import numpy as np
import pyvirtualcam

from dataclasses import dataclass

from reenact.errors import DeviceError, ReenactError
from reenact.plugin_api import BaseSink

log = logging.getLogger("reenact.sinks")  # under reenact's logger: shown by default, -q hides it
LINUX_HELP = (
    "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=reenact "
    "(package v4l2loopback-dkms)"
)
OBS_HELP = "install OBS Studio, click 'Start Virtual Camera' once and stop it again"
ALTERNATIVE = (
    "or use --sink stream and add it in OBS as a Media Source, or --sink null and "
    "add the panel's /output address in OBS as a Browser Source"
)


def setup_help() -> str:
    """How to get a virtual camera on this OS, as one clause."""
    if platform.system() == "Linux":
        return f"load v4l2loopback: {LINUX_HELP}"
    return OBS_HELP


def loopback_devices() -> list[str]:
    """Device nodes of loaded v4l2loopback cameras (Linux), from sysfs."""
    found = []
    for name_file in glob.glob("/sys/devices/virtual/video4linux/video*/name"):
        found.append("/dev/" + Path(name_file).parent.name)
    return sorted(found)


class VirtualCamSink(BaseSink):
    """Sends RGB frames to a virtual camera; `device` and `backend` say which one it got."""

    name = "virtualcam"
    realtime = True

    @dataclass(frozen=True)
    class Options:
        """`sink.device`: e.g. /dev/video10 ("" = first free; `virtualcam:DEVICE`);
        `sink.backend`: pyvirtualcam's backend ("" = the platform's default)."""

        device: str = ""
        backend: str = ""

    @classmethod
    def spec_options(cls, argument: str) -> dict[str, str]:
        return {"device": argument}

    def __init__(self, config: Options, *, width: int, height: int, fps: float) -> None:
        super().__init__(width=width, height=height, fps=fps)
        backend = config.backend or None
        if backend is not None and backend not in pyvirtualcam.camera.BACKENDS:
            known = ", ".join(sorted(pyvirtualcam.camera.BACKENDS)) or "none"
            raise DeviceError(
                f"virtualcam: unknown backend '{backend}' (sink.backend); available: {known}"
            )
        try:
            self._camera = pyvirtualcam.Camera(
                self.width,
                self.height,
                self.fps,
                fmt=pyvirtualcam.PixelFormat.RGB,
                device=config.device or None,
                backend=backend,
            )
        except (RuntimeError, OSError, ValueError) as exc:
            where = f" {config.device}" if config.device else ""
            reason = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            raise DeviceError(
                f"virtualcam: cannot open a virtual camera{where} ({reason or type(exc).__name__}); "
                f"{setup_help()}, {ALTERNATIVE}"
            ) from exc
        self.device = self._camera.device
        self.backend = self._camera.backend
        log.info(
            "output: virtual camera %s (%s); pick it as the camera in the video app",
            self.device,
            self.backend,
        )

    def write(self, image: np.ndarray) -> None:
        """Send one (height, width, 3) uint8 RGB frame to the virtual camera."""
        if self._closed:
            raise ReenactError("virtualcam sink: write after close()")
        self._camera.send(self.check_frame(image))
        self.frames_written += 1

    def _close(self) -> None:
        self._camera.close()

    @classmethod
    def probe(cls, config: Options | None = None) -> str | None:
        """None when a virtual camera is likely available; else why not and what to do."""
        backend = config.backend if config is not None else ""
        if backend and backend in pyvirtualcam.camera.BACKENDS and backend != "v4l2loopback":
            return None
        if platform.system() != "Linux":
            return None  # OBS's camera can only be found by opening it
        if not loopback_devices():
            return f"virtualcam: no v4l2loopback device found; {LINUX_HELP} ({ALTERNATIVE})"
        return None
