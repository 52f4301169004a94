"""The virtual-camera sink through pyvirtualcam: a registered recording backend stands in for the
v4l2loopback device this machine lacks; the real v4l2loopback backend shows the failure path."""

from __future__ import annotations

import platform

import numpy as np
import pytest
import pyvirtualcam

from reenact.errors import DeviceError
from reenact_plugins.sinks.virtualcam import VirtualCamSink, loopback_devices


def test_frames_reach_the_camera_unchanged(recording_backend, sink_frames) -> None:
    config = VirtualCamSink.Options(backend="reenact-test-recorder", device="/dev/video42")
    with VirtualCamSink(config, width=160, height=120, fps=30.0) as sink:
        assert (sink.device, sink.backend) == ("/dev/video42", "reenact-test-recorder")
        for image in sink_frames[:7]:
            sink.write(image)
    (camera,) = recording_backend.instances
    assert (camera.width, camera.height, camera.fps) == (160, 120, 30.0)
    assert camera.fourcc == pyvirtualcam.util.encode_fourcc(pyvirtualcam.PixelFormat.RGB.value)
    assert len(camera.frames) == 7 and camera.close_calls == 1
    for sent, received in zip(sink_frames, camera.frames):
        assert received.dtype == np.uint8 and received.shape == (120 * 160 * 3,)
        np.testing.assert_array_equal(received.reshape(120, 160, 3), sent)  # RGB, byte for byte


def test_a_camera_that_cannot_open_explains_what_to_do(monkeypatch) -> None:
    class MissingDevice:
        def __init__(self, **kwargs) -> None:
            raise RuntimeError("No v4l2 loopback device found at /dev/video[0-99].\nSee the docs.")

    monkeypatch.setitem(pyvirtualcam.camera.BACKENDS, "missing-device", MissingDevice)
    with pytest.raises(DeviceError) as exc:
        VirtualCamSink(
            VirtualCamSink.Options(backend="missing-device"), width=64, height=48, fps=30.0
        )
    message = str(exc.value)
    assert "\n" not in message and "No v4l2 loopback device" in message
    assert "--sink stream" in message
    assert ("modprobe v4l2loopback" if platform.system() == "Linux" else "OBS") in message


@pytest.mark.skipif(
    platform.system() != "Linux", reason="the v4l2loopback backend exists on Linux only"
)
def test_real_v4l2loopback_backend_without_a_device() -> None:
    if loopback_devices():
        pytest.skip("a v4l2loopback device is loaded on this machine")
    assert "modprobe v4l2loopback" in VirtualCamSink.probe(VirtualCamSink.Options())
    with pytest.raises(DeviceError, match="modprobe v4l2loopback") as exc:
        VirtualCamSink(
            VirtualCamSink.Options(backend="v4l2loopback"), width=64, height=48, fps=30.0
        )
    assert "\n" not in str(exc.value) and "--sink stream" in str(exc.value)


def test_unknown_backend_lists_the_available_ones(recording_backend) -> None:
    with pytest.raises(DeviceError, match="unknown backend 'nope'.*reenact-test-recorder"):
        VirtualCamSink(VirtualCamSink.Options(backend="nope"), width=64, height=48, fps=30.0)


def test_probe_accepts_a_registered_backend(recording_backend) -> None:
    assert VirtualCamSink.probe(VirtualCamSink.Options(backend="reenact-test-recorder")) is None
