"""Fixtures for the plugin contract tests: real frames from real clips, and fakes for the only
hardware this machine lacks (a camera behind cv2.VideoCapture, a v4l2loopback device behind
pyvirtualcam). The plugins' own logic always runs for real."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import pyvirtualcam

from reenact.plugin_api import SINK_GROUP, SOURCE_GROUP, load_plugin
from tests.helpers import decode_rgb, write_clip

CLIP = "lp_d1.mp4"  # 16 frames, 512x512, 30 fps
PORTRAIT = "lp_s0.jpg"
SINK_SIZE = (160, 120)  # width, height of the frames the sink tests write
SOURCE_SIZE = (96, 64)
RECORDER_BACKEND = "reenact-test-recorder"


@pytest.fixture(scope="session")
def decode_video() -> Callable[[Path], list[np.ndarray]]:
    """decode_video(path) -> every frame as RGB, by plain PyAV (the reference decode)."""
    return decode_rgb


@pytest.fixture(scope="session")
def encode_clip() -> Callable[..., Path]:
    """encode_clip(path, rgb_frames, fps=30, options=..., container_options=...) -> path."""
    return write_clip


@pytest.fixture(scope="session")
def source_size() -> tuple[int, int]:
    """(width, height) that make_source asks every source for."""
    return SOURCE_SIZE


@pytest.fixture(scope="session")
def sink_size() -> tuple[int, int]:
    """(width, height) of sink_frames and of make_sink's default sinks."""
    return SINK_SIZE


@pytest.fixture(scope="session")
def clip_path(clips_dir: Path) -> Path:
    return clips_dir / CLIP


@pytest.fixture(scope="session")
def portrait_path(portraits_dir: Path) -> Path:
    return portraits_dir / PORTRAIT


@pytest.fixture(scope="session")
def clip_frames(clip_path: Path) -> list[np.ndarray]:
    """The 16 real frames of lp_d1.mp4: (512, 512, 3) uint8 RGB."""
    frames = decode_rgb(clip_path)
    assert len(frames) == 16
    return frames


@pytest.fixture(scope="session")
def sink_frames(clip_frames: list[np.ndarray]) -> list[np.ndarray]:
    """Real frames at the sink tests' size: (120, 160, 3) uint8 RGB."""
    return [cv2.resize(f, SINK_SIZE, interpolation=cv2.INTER_AREA) for f in clip_frames]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    return free_udp_port()


# ---------------------------------------------------------------- the camera fake (hardware only)


class FakeCameraDevice:
    """A camera plugged into the machine: serves the BGR frames of a real clip, endlessly.

    `modes` are the (width, height) it can deliver; a request for another size gets the first
    mode, as real UVC cameras fall back to a supported one. `unplug()` / `plug()` simulate a cable.
    """

    def __init__(
        self,
        frames_bgr: list[np.ndarray],
        *,
        fps: float = 30.0,
        modes: tuple[tuple[int, int], ...] = ((512, 512),),
    ) -> None:
        self.frames_bgr = frames_bgr
        self.fps = fps
        self.modes = modes
        self.plugged = True
        self.position = 0
        self.opens = 0

    def unplug(self) -> None:
        self.plugged = False

    def plug(self) -> None:
        self.plugged = True

    def next_frame(self, size: tuple[int, int]) -> np.ndarray:
        image = self.frames_bgr[self.position % len(self.frames_bgr)]
        self.position += 1
        if (image.shape[1], image.shape[0]) != size:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        return image.copy()


class FakeCameraRig:
    """The machine's cameras by index or path; installs itself as cv2.VideoCapture."""

    def __init__(self) -> None:
        self.devices: dict[int | str, FakeCameraDevice] = {}

    def capture_class(self) -> type:
        rig = self

        class FakeVideoCapture:
            """cv2.VideoCapture's API over a FakeCameraDevice (a camera this machine lacks)."""

            def __init__(self, index_or_path, api_preference: int | None = None) -> None:
                self.device = rig.devices.get(index_or_path)
                self._open = self.device is not None and self.device.plugged
                if self._open:
                    self.device.opens += 1
                    self.size = self.device.modes[0]
                self._request = [0, 0]
                self.props: dict[int, float] = {}

            def isOpened(self) -> bool:  # cv2's name
                return self._open

            def set(self, prop: int, value: float) -> bool:
                if not self._open:
                    return False
                self.props[prop] = value
                if prop in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT):
                    self._request[prop == cv2.CAP_PROP_FRAME_HEIGHT] = int(value)
                    wanted = tuple(self._request)
                    self.size = wanted if wanted in self.device.modes else self.device.modes[0]
                return True

            def get(self, prop: int) -> float:
                if not self._open:
                    return 0.0
                return {
                    cv2.CAP_PROP_FRAME_WIDTH: float(self.size[0]),
                    cv2.CAP_PROP_FRAME_HEIGHT: float(self.size[1]),
                    cv2.CAP_PROP_FPS: self.device.fps,
                }.get(prop, 0.0)

            def read(self):
                if not self._open or not self.device.plugged:
                    return False, None
                return True, self.device.next_frame(self.size)

            def release(self) -> None:
                self._open = False

        return FakeVideoCapture


@pytest.fixture(scope="session")
def clip_frames_bgr(clip_path: Path) -> list[np.ndarray]:
    with av.open(str(clip_path)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


@pytest.fixture
def fake_cameras(monkeypatch: pytest.MonkeyPatch, clip_frames_bgr) -> FakeCameraRig:
    """Camera 0 (modes 512x512 and 96x64) fed by lp_d1.mp4; cv2.VideoCapture replaced."""
    rig = FakeCameraRig()
    rig.devices[0] = FakeCameraDevice(clip_frames_bgr, modes=((512, 512), SOURCE_SIZE))
    monkeypatch.setattr(cv2, "VideoCapture", rig.capture_class())
    return rig


# ------------------------------------------------------ the virtual camera fake (hardware only)


class RecordingBackend:
    """A pyvirtualcam backend standing in for a v4l2loopback device: it keeps what it receives."""

    instances: list[RecordingBackend] = []

    def __init__(
        self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw
    ) -> None:
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self._device = device or "/dev/video-fake-loopback"
        self.frames: list[np.ndarray] = []
        self.close_calls = 0
        RecordingBackend.instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        self.frames.append(frame.copy())

    def close(self) -> None:
        self.close_calls += 1

    def device(self) -> str:
        return self._device

    def native_fourcc(self) -> int:
        return self.fourcc


@pytest.fixture
def recording_backend() -> Iterator[type[RecordingBackend]]:
    """Registers RecordingBackend with pyvirtualcam under RECORDER_BACKEND, removed afterwards."""
    RecordingBackend.instances = []
    pyvirtualcam.register_backend(RECORDER_BACKEND, RecordingBackend)
    yield RecordingBackend
    pyvirtualcam.camera.BACKENDS.pop(RECORDER_BACKEND, None)


# ----------------------------------------------------------------- factories for every plugin


@pytest.fixture
def make_source(request, clip_path, portrait_path) -> Callable[..., object]:
    """make_source(name, **config_overrides) -> an open source at SOURCE_SIZE with its fakes."""

    def factory(name: str, **overrides):
        width, height = SOURCE_SIZE
        configs = {
            "video": dict(path=str(clip_path), width=width, height=height),
            "image": dict(path=str(portrait_path), width=width, height=height, fps=25.0),
            "webcam": dict(path="0", width=width, height=height, fps=30.0),
        }
        if name not in configs:
            pytest.fail(
                f"no contract-test config for source plugin '{name}'; "
                f"add one to tests/contract/conftest.py"
            )
        if name == "webcam":
            request.getfixturevalue("fake_cameras")
        cls = load_plugin(SOURCE_GROUP, name)
        return cls(cls.Options(**{**configs[name], **overrides}))

    return factory


@pytest.fixture
def make_sink(request, tmp_path) -> Callable[..., object]:
    """make_sink(name, width=, height=, fps=) -> an open sink with its fakes (window: on a
    virtual X server; skipped with the reason where there is no Xvfb or no GUI in OpenCV)."""

    def factory(
        name: str,
        *,
        width: int = SINK_SIZE[0],
        height: int = SINK_SIZE[1],
        fps: float = 30.0,
        **overrides,
    ):
        configs = {
            "file": dict(path=str(tmp_path / "contract" / f"{name}.mp4")),
            "stream": dict(url=f"udp://127.0.0.1:{free_udp_port()}"),
            "virtualcam": dict(backend=RECORDER_BACKEND),
            "window": dict(title="reenact contract test"),
            "null": dict(),
        }
        if name not in configs:
            pytest.fail(
                f"no contract-test config for sink plugin '{name}'; "
                f"add one to tests/contract/conftest.py"
            )
        cls = load_plugin(SINK_GROUP, name)
        config = cls.Options(**{**configs[name], **overrides})
        if name == "virtualcam":
            request.getfixturevalue("recording_backend")
        if name == "window":
            request.getfixturevalue("virtual_display")
            if (reason := cls.probe(config)) is not None:  # e.g. an OpenCV without a GUI
                pytest.skip(reason)
        return cls(config, width=width, height=height, fps=fps)

    return factory
