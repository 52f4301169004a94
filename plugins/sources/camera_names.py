"""The cameras on this machine, by name where the platform can say: for `reenact doctor` and the
panel's camera picker. Each is `{"device": "N", "name": "..."}`, `device` as `source.path`
(`--source webcam:N`) takes it.

Linux: the V4L2 capture nodes in sysfs (`/sys/class/video4linux/videoN/name`); a UVC camera's
second node (its metadata, `index` 1) is left out. macOS / Windows: FFmpeg's own device list
(`list_devices` of avfoundation / dshow through PyAV) where PyAV was built with them. Elsewhere,
and only when asked to probe, the OpenCV indexes that open.

`REENACT_DEVICE_ROOT` moves the root these paths are read under (tests give a fake tree with
`sys/class/video4linux/` and `dev/`; this machine has no camera).
"""

from __future__ import annotations

import glob
import os
import platform
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEVICE_ROOT_ENV = "REENACT_DEVICE_ROOT"
MAX_PROBED = 4  # OpenCV indexes tried where no list exists: opening each takes up to a second
# FFmpeg's input device that lists cameras, and the input it is opened with to list them
FFMPEG_LISTERS = {"Darwin": ("avfoundation", ""), "Windows": ("dshow", "video=dummy")}
_INDEXED = re.compile(r"^\s*\[(\d+)\]\s+(.+?)\s*$")  # avfoundation: "[0] FaceTime HD Camera"
_QUOTED = re.compile(r'^\s*"(.+)"(?:\s+\(([a-z, ]+)\))?\s*$')  # dshow: '"Cam" (video)'
_SECTION = re.compile(r"(video|audio) devices", re.IGNORECASE)  # "AVFoundation video devices:"
_OPENCV_SILENT = 0  # cv::utils::logging::LOG_LEVEL_SILENT


def device_root() -> Path:
    """Where `sys/` and `dev/` are read: `/`, or `REENACT_DEVICE_ROOT` (a test's fake tree)."""
    return Path(os.environ.get(DEVICE_ROOT_ENV) or "/")


def video_nodes() -> list[str]:
    """`/dev/video*` nodes, sorted by number (as named under the real root)."""
    root = device_root()
    nodes = [
        "/" + Path(node).relative_to(root).as_posix()
        for node in glob.glob(str(root / "dev" / "video*"))
    ]
    return sorted(nodes, key=lambda node: (len(node), node))


def _read(path: Path, default: str) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip() or default
    except OSError:
        return default


def v4l2_cameras() -> list[dict[str, str]] | None:
    """The capture nodes sysfs names; None where there is no sysfs to ask."""
    folder = device_root() / "sys" / "class" / "video4linux"
    if not folder.is_dir():
        return None
    found = []
    for entry in folder.glob("video*"):
        number = entry.name.removeprefix("video")
        if number.isdigit() and _read(entry / "index", "0") == "0":
            found.append((int(number), _read(entry / "name", f"video{number}")))
    return [{"device": str(number), "name": name} for number, name in sorted(found)]


def parse_device_list(text: str) -> list[dict[str, str]]:
    """FFmpeg's `list_devices` log (avfoundation or dshow, old and new layouts) -> its video
    devices in order: avfoundation's by its own index, dshow's by their place in the list."""
    cameras: list[dict[str, str]] = []
    section = "video"
    for line in text.splitlines():
        header = _SECTION.search(line)
        if header:
            section = header.group(1).lower()
            continue
        indexed, quoted = _INDEXED.match(line), _QUOTED.match(line)
        if indexed and section == "video" and not indexed.group(2).startswith("Capture screen"):
            cameras.append({"device": indexed.group(1), "name": indexed.group(2)})
        elif quoted and "video" in (quoted.group(2) or section):
            cameras.append({"device": str(len(cameras)), "name": quoted.group(1)})
    return cameras


def ffmpeg_cameras(system: str) -> list[dict[str, str]] | None:
    """FFmpeg's device list on macOS / Windows; None where PyAV lacks the device."""
    if system not in FFMPEG_LISTERS:
        return None
    import av
    import av.logging

    device, url = FFMPEG_LISTERS[system]
    if device not in av.formats_available:
        return None
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.INFO)  # the list is logged at INFO
    try:
        with av.logging.Capture() as logs:
            try:
                av.open(url, format=device, options={"list_devices": "true"}).close()
            except av.FFmpegError:  # listing ends by failing to open: expected
                pass
    finally:
        av.logging.set_level(previous)
    return parse_device_list("".join(message for _level, _name, message in logs))


@contextmanager
def opencv_quiet() -> Iterator[None]:
    """OpenCV's log off while a camera opens: our own message says it once, with what to do."""
    import cv2

    if not hasattr(cv2, "setLogLevel"):  # OpenCV 5 dropped it; its log level comes from the env
        yield
        return
    previous = cv2.setLogLevel(_OPENCV_SILENT)
    try:
        yield
    finally:
        cv2.setLogLevel(previous)


def opencv_indexes(limit: int = MAX_PROBED) -> list[dict[str, str]]:
    """The OpenCV camera indexes below `limit` that open (slow: each is opened)."""
    import cv2

    found = []
    with opencv_quiet():
        for index in range(limit):
            capture = cv2.VideoCapture(index)
            if capture.isOpened():
                found.append({"device": str(index), "name": f"camera {index}"})
            capture.release()
    return found


def list_cameras(*, probe: bool = False) -> list[dict[str, str]]:
    """The cameras here, named where the platform can say. probe: where no list exists, open
    OpenCV's first indexes to find them (`reenact doctor`; never while a camera runs)."""
    system = platform.system()
    named = v4l2_cameras() if system == "Linux" else ffmpeg_cameras(system)
    if named:
        return named
    if system == "Linux":
        return [
            {"device": node.removeprefix("/dev/video"), "name": node}
            for node in video_nodes()
            if node.removeprefix("/dev/video").isdigit()
        ]
    return opencv_indexes() if probe else []
