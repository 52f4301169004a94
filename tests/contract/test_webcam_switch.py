"""The webcam source moving to another camera, the mirror, and the camera list by name, against
the fake camera device (real clip and portrait frames) and a fake sysfs tree: the hardware this
machine lacks is the only fake."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reenact.errors import DeviceError
from reenact.stream.source_control import ControlledSource
from reenact_plugins.sources.camera_names import parse_device_list
from reenact_plugins.sources.video import VideoSource
from reenact_plugins.sources.webcam import WebcamSource
from tests.contract.conftest import FakeCameraDevice
from tests.fake_devices import fake_device_tree

# FFmpeg's list_devices logs, as PyAV's log capture gives them (one message a line)
AVFOUNDATION_LOG = """AVFoundation video devices:
[0] FaceTime HD Camera
[1] OBS Virtual Camera
[2] Capture screen 0
AVFoundation audio devices:
[0] MacBook Pro Microphone
"""
DSHOW_LOG = """"Integrated Webcam" (video)
  Alternative name "@device_pnp_\\\\?\\usb#vid_0c45&pid_6713&mi_00#6&1b7d2f6c"
"Microphone Array (Realtek Audio)" (audio)
  Alternative name "@device_cm_{33D9A762-90C8-11D0-BD43-00A0C911CE86}\\wave_{5B1F}"
"OBS Virtual Camera" (video)
"""
DSHOW_OLD_LOG = """DirectShow video devices (some may be both video and audio devices)
 "Logitech HD Webcam C270"
    Alternative name "@device_pnp_\\\\?\\usb#vid_046d&pid_0825&mi_00"
DirectShow audio devices
 "Microphone (HD Webcam C270)"
"""


@pytest.fixture
def portrait_bgr(portrait_path) -> np.ndarray:
    """A real portrait, 3:2 landscape (768x512), BGR as a camera delivers it."""
    image = cv2.imread(str(portrait_path))
    return cv2.resize(image, (768, 512), interpolation=cv2.INTER_AREA)


def test_switch_moves_to_another_camera_cropped_to_the_same_shape(fake_cameras, portrait_bgr):
    fake_cameras.devices[1] = FakeCameraDevice([portrait_bgr], modes=((768, 512),))
    with WebcamSource(WebcamSource.Options(path="0")) as camera:
        assert (camera.width, camera.height, camera.label) == (512, 512, "0")
        first = camera.read()
        camera.switch("1")
        frame = camera.read()
        assert camera.label == "1" and fake_cameras.devices[1].opens == 1
    assert frame.index == first.index + 1  # one stream of frames across the switch
    centre = cv2.cvtColor(portrait_bgr[:, 128:640], cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(frame.image, centre)  # the 512x512 middle, not squashed


def test_a_camera_that_fails_to_open_leaves_the_current_one(fake_cameras, clip_frames):
    with WebcamSource(WebcamSource.Options(path="0")) as camera:
        camera.read()
        with pytest.raises(DeviceError) as exc:
            camera.switch("7")
        assert "camera 7" in str(exc.value) and "\n" not in str(exc.value)
        frame = camera.read()
        assert camera.label == "0" and fake_cameras.devices[0].opens == 1
    np.testing.assert_array_equal(frame.image, clip_frames[1])  # camera 0 goes on


def test_controlled_source_mirrors_and_switches_on_the_reading_thread(
    fake_cameras, clip_frames, portrait_bgr
):
    fake_cameras.devices[1] = FakeCameraDevice([portrait_bgr], modes=((768, 512),))
    with WebcamSource(WebcamSource.Options(path="0")) as camera:
        source = ControlledSource(camera, mirror=True)
        assert (source.width, source.live, source.switchable) == (512, True, True)
        np.testing.assert_array_equal(source.read().image, clip_frames[0][:, ::-1])
        source.mirror = False
        np.testing.assert_array_equal(source.read().image, clip_frames[1])
        source.request_device("9")  # no such camera: the error is kept, camera 0 goes on
        source.request_device("1")  # the last request wins
        assert camera.label == "0"  # nothing opens until the next read
        frame = source.read()
        assert source.label == "1" and source.error == ""
        source.request_device("9")
        source.read()
        assert source.label == "1" and "camera 9" in source.error
    assert frame.image.shape == (512, 512, 3)


def test_only_a_camera_can_switch(clip_path):
    with VideoSource(VideoSource.Options(path=str(clip_path))) as video:
        source = ControlledSource(video)
        assert not source.switchable
        with pytest.raises(ValueError, match="not a camera"):
            source.request_device("1")


def test_cameras_are_named_by_sysfs_without_metadata_nodes(tmp_path, monkeypatch):
    monkeypatch.setenv("REENACT_DEVICE_ROOT", str(fake_device_tree(tmp_path)))
    assert WebcamSource.cameras() == [
        {"device": "0", "name": "Integrated Camera: Integrated C"},
        {"device": "2", "name": "HD Pro Webcam C920"},
    ]
    assert WebcamSource.probe(WebcamSource.Options(path="2")) is None
    assert "does not exist" in WebcamSource.probe(WebcamSource.Options(path="5"))


def test_ffmpeg_device_lists_are_read():
    assert parse_device_list(AVFOUNDATION_LOG) == [
        {"device": "0", "name": "FaceTime HD Camera"},
        {"device": "1", "name": "OBS Virtual Camera"},
    ]
    assert parse_device_list(DSHOW_LOG) == [
        {"device": "0", "name": "Integrated Webcam"},
        {"device": "1", "name": "OBS Virtual Camera"},
    ]
    assert parse_device_list(DSHOW_OLD_LOG) == [{"device": "0", "name": "Logitech HD Webcam C270"}]
