"""The webcam source's own logic (open, size negotiation, BGR->RGB, failure, reopen) against a
fake camera device that serves a real clip decoded by PyAV: the camera is the only fake."""

from __future__ import annotations

import platform

import numpy as np
import pytest

from reenact.errors import DeviceError
from reenact_plugins.sources.webcam import WebcamSource, list_video_devices, parse_device


def test_frames_are_rgb_at_the_negotiated_size(fake_cameras, clip_frames) -> None:
    with WebcamSource(WebcamSource.Options(path="0")) as camera:
        assert camera.live is True
        assert camera.requested == (1280, 720, 30.0)  # the defaults when config says 0
        assert (camera.width, camera.height, camera.fps) == (512, 512, 30.0)  # what it delivers
        frames = [camera.read() for _ in range(20)]
    assert [f.index for f in frames] == list(range(20))
    for offset, frame in enumerate(frames):  # BGR from the device -> the same pixels as RGB
        np.testing.assert_array_equal(frame.image, clip_frames[offset % 16])


def test_a_supported_requested_mode_is_used(fake_cameras) -> None:
    with WebcamSource(WebcamSource.Options(path="0", width=96, height=64, fps=30.0)) as camera:
        assert (camera.width, camera.height) == (96, 64)
        assert camera.read().image.shape == (64, 96, 3)
    assert fake_cameras.devices[0].opens == 1


def test_missing_camera_index_names_it_and_points_to_doctor(fake_cameras) -> None:
    with pytest.raises(DeviceError) as exc:
        WebcamSource(WebcamSource.Options(path="7"))
    message = str(exc.value)
    assert "\n" not in message and "camera 7" in message and "reenact doctor" in message


def test_missing_camera_path(fake_cameras) -> None:
    with pytest.raises(DeviceError, match="'/dev/video9'.*reenact doctor"):
        WebcamSource(WebcamSource.Options(path="/dev/video9"))


def test_unplug_read_fails_then_reopen_recovers(fake_cameras, clip_frames) -> None:
    device = fake_cameras.devices[0]
    camera = WebcamSource(WebcamSource.Options(path="0", reconnect_s=0.5))
    assert camera.reconnect_s == 0.5
    for _ in range(3):
        assert camera.read() is not None
    device.unplug()
    assert camera.read() is None  # the live loop now retries reopen() every reconnect_s
    assert camera.reopen() is False  # still unplugged
    assert camera.read() is None
    device.plug()
    assert camera.reopen() is True
    frame = camera.read()
    assert frame is not None and frame.index == 3  # indices keep counting across the gap
    assert frame.image.shape == (512, 512, 3)
    np.testing.assert_array_equal(frame.image, clip_frames[(device.position - 1) % 16])
    camera.close()
    assert camera.reopen() is False and camera.read() is None


def test_a_camera_that_renegotiates_keeps_the_reported_size(fake_cameras) -> None:
    device = fake_cameras.devices[0]
    camera = WebcamSource(WebcamSource.Options(path="0", width=96, height=64))
    camera.read()
    device.unplug()
    camera.read()
    device.modes = ((512, 512),)  # plugged into another port: only the native mode now
    device.plug()
    assert camera.reopen() is True
    assert camera.read().image.shape == (64, 96, 3)
    camera.close()


def test_open_but_no_frames_is_an_error(fake_cameras, monkeypatch) -> None:
    """A camera that opens but hands out empty buffers (busy in another app on some drivers)."""
    device = fake_cameras.devices[0]
    monkeypatch.setattr(device, "next_frame", lambda size: np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(DeviceError, match="camera 0 opened but delivers no frames"):
        WebcamSource(WebcamSource.Options(path="0"))


def test_parse_device() -> None:
    assert parse_device("0") == 0 and parse_device(" 2 ") == 2 and parse_device("") == 0
    assert parse_device("/dev/video2") == "/dev/video2"


@pytest.mark.skipif(platform.system() != "Linux", reason="/dev/video* exists on Linux only")
def test_probe_reports_when_no_camera_exists() -> None:
    reason = WebcamSource.probe(WebcamSource.Options(path="0"))
    if list_video_devices():
        assert reason is None
    else:
        assert reason is not None and "no camera found" in reason and "\n" not in reason
    missing = WebcamSource.probe(WebcamSource.Options(path="/dev/video-does-not-exist"))
    assert missing is not None and "does not exist" in missing
