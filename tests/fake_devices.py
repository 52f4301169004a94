"""Fakes for the hardware this machine lacks, shared by the camera tests: the sysfs and /dev
tree Linux shows for cameras, and a camera that delivers frames at its own pace."""

from __future__ import annotations

import time
from pathlib import Path

from tests.contract.conftest import FakeCameraDevice


def fake_device_tree(root: Path) -> Path:
    """sysfs and /dev as Linux shows a laptop camera (two nodes: capture and metadata) and a USB
    camera on video2."""
    named = {
        "video0": ("Integrated Camera: Integrated C", "0"),
        "video1": ("Integrated Camera: Integrated C", "1"),
        "video2": ("HD Pro Webcam C920", "0"),
    }
    (root / "dev").mkdir(parents=True)
    for node, (name, index) in named.items():
        folder = root / "sys" / "class" / "video4linux" / node
        folder.mkdir(parents=True)
        (folder / "name").write_text(name + "\n")
        (folder / "index").write_text(index + "\n")
        (root / "dev" / node).touch()
    return root


class PacedCamera(FakeCameraDevice):
    """A camera delivers a frame every 1/fps s: `read()` waits for it, as V4L2 does."""

    def next_frame(self, size):
        time.sleep(1.0 / self.fps)
        return super().next_frame(size)
