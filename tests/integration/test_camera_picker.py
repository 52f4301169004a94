"""Mirror and the camera picker in a real live session (real tracker, warp renderer, panel server
on 127.0.0.1), on the only fakes this machine needs: two cameras behind cv2.VideoCapture, each
serving a real portrait at a camera's pace, and the sysfs tree that names them.

What the reenactor receives is read in the live hook (the frame it was given); the panel is
driven over HTTP in the middle of the run, as a browser would.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.config import load_config
from reenact.stream.live import LiveHooks
from reenact.stream.session import run_session
from tests.contract.conftest import FakeCameraRig
from tests.fake_devices import PacedCamera, fake_device_tree

TOKEN = "camera-picker-test-token-01"
SIDE = 256
MAX_FRAMES = 150  # a bound on the run; it ends much sooner when every step was seen


def square(path: Path) -> np.ndarray:
    """A portrait's top square (where the face is) at SIDE x SIDE, RGB."""
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    side = min(image.shape[:2])
    return cv2.resize(image[:side, :side], (SIDE, SIDE), interpolation=cv2.INTER_AREA)


@pytest.fixture
def cameras(portraits_dir, tmp_path, monkeypatch):
    """Camera 0: one face, square; camera 2: another face, 3:2 (so the switch must crop, not
    squash). Returns (what camera 0 shows, what camera 2 shows once cropped to the square)."""
    first, second = square(portraits_dir / "lp_s0.jpg"), square(portraits_dir / "lp_s1.jpg")
    wide = cv2.copyMakeBorder(second, 0, 0, SIDE // 4, SIDE // 4, cv2.BORDER_REFLECT)
    rig = FakeCameraRig()
    rig.devices[0] = PacedCamera([cv2.cvtColor(first, cv2.COLOR_RGB2BGR)], modes=((SIDE, SIDE),))
    rig.devices[2] = PacedCamera(
        [cv2.cvtColor(wide, cv2.COLOR_RGB2BGR)], modes=((wide.shape[1], SIDE),)
    )
    monkeypatch.setattr(cv2, "VideoCapture", rig.capture_class())
    monkeypatch.setenv("REENACT_DEVICE_ROOT", str(fake_device_tree(tmp_path / "root")))
    return first, second


def call(port: int, method: str, path: str, body: bytes | dict | None = None) -> tuple[int, dict]:
    """(status, JSON reply) of one request to the panel on 127.0.0.1:`port`."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=data,
        headers={"X-Reenact-Token": TOKEN, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class PickerHooks(LiveHooks):
    """The real live hooks; after each frame, names what the reenactor was given and drives the
    panel: mirror on, camera 2, mirror off."""

    def __init__(self, config, views: dict[str, np.ndarray]) -> None:
        super().__init__(config, preview=False)
        self.views = views
        self.seen: list[str] = []
        self.replies: dict[str, tuple[int, dict]] = {}

    def step(self, name: str, method: str, path: str, body=None) -> None:
        if name not in self.replies:
            self.replies[name] = call(self.server.port, method, path, body)

    def hook(self, output, frame, result) -> bool:
        keep = super().hook(output, frame, result)
        if frame is None:
            return keep
        seen = next(
            (name for name, view in self.views.items() if np.array_equal(frame.image, view)),
            "other",
        )
        self.seen.append(seen)
        if len(self.seen) >= 3:
            self.step("list", "GET", "/cameras")
            self.step("mirror on", "POST", "/settings", {"source.mirror": True})
        if seen == "first mirrored":
            self.step("unknown camera", "POST", "/camera", {"device": "7"})
            self.step("not json", "POST", "/camera", b"camera two")
            self.step("switch", "POST", "/camera", {"device": "2"})
        if seen == "second mirrored":
            self.step("after switch", "GET", "/cameras")
            self.step("mirror off", "POST", "/settings", {"source.mirror": False})
        return keep and self.seen[-3:] != ["second"] * 3 and len(self.seen) < MAX_FRAMES


def test_mirror_and_camera_switch_live_from_the_panel(cameras, tmp_path):
    first, second = cameras
    views = {
        "first": first,
        "first mirrored": first[:, ::-1],
        "second": second,
        "second mirrored": second[:, ::-1],
    }
    config = load_config(
        None,
        [
            "source.kind=webcam",
            "source.path=0",
            "sink.kind=null",
            "renderer.kind=warp",
            "calibration.neutral_frames=3",
            f"stream.max_frames={MAX_FRAMES}",
            "panel.port=0",
            f"panel.token={TOKEN}",
            f"stream.output_dir={tmp_path / 'out'}",
        ],
    )
    hooks = PickerHooks(config, views)
    try:
        run_session(config, show_progress=False, on_frame=hooks)
    finally:
        hooks.close()
    replies, seen = hooks.replies, hooks.seen
    # doctor's names, the metadata node left out, the current camera
    assert replies["list"] == (
        200,
        {
            "cameras": [
                {"device": "0", "name": "Integrated Camera: Integrated C"},
                {"device": "2", "name": "HD Pro Webcam C920"},
            ],
            "current": "0",
            "error": "",
        },
    )
    assert replies["mirror on"][0] == 200 and replies["mirror off"][0] == 200
    status, body = replies["unknown camera"]
    assert status == 404 and "'7'" in body["error"] and "HD Pro Webcam C920" in body["error"]
    assert replies["not json"][0] == 400 and "not JSON" in replies["not json"][1]["error"]
    assert replies["switch"] == (200, {"ok": True, "device": "2"})
    assert replies["after switch"][1]["current"] == "2"
    # each change takes effect in order, and none comes back: the newest frame wins
    order = ["first", "first mirrored", "second mirrored", "second"]
    assert "other" not in seen, seen
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen), seen
    assert set(seen) == set(order) and seen[-3:] == ["second"] * 3


def test_doctor_names_the_cameras(tmp_path, monkeypatch, capsys):
    """`reenact doctor` lists each camera by its V4L2 name; none found stays a warning."""
    from reenact.cli.main import main

    monkeypatch.setenv("REENACT_DEVICE_ROOT", str(fake_device_tree(tmp_path / "root")))
    assert main(["doctor"]) in (0, 1)  # 1 only for a required check this machine fails
    line = next(x for x in capsys.readouterr().out.splitlines() if "cameras" in x)
    assert line.startswith("[ok  ]")
    assert '0 "Integrated Camera: Integrated C", 2 "HD Pro Webcam C920"' in line
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("REENACT_DEVICE_ROOT", str(tmp_path / "empty"))
    main(["doctor"])
    line = next(x for x in capsys.readouterr().out.splitlines() if "cameras" in x)
    assert line.startswith("[warn]") and "none found" in line


def test_a_session_on_a_video_has_no_camera_picker_but_mirrors(clips_dir, portraits_dir):
    """/cameras and /camera say the source is not a camera; the mirror is a live setting for
    every source, checked like the others."""
    from reenact.stream.control_server import ControlServer
    from reenact.stream.controls import Controls
    from reenact.stream.source_control import ControlledSource
    from reenact_plugins.sources.video import VideoSource
    from tests.helpers import decode_rgb, reenactor

    config = load_config(None, ["renderer.kind=warp", "fusion.kind=training_free"])
    r = reenactor(config, portraits_dir / "lp_s0.jpg")
    controls = Controls(r)
    with VideoSource(VideoSource.Options(path=str(clips_dir / "lp_d1.mp4"))) as video:
        r.source = ControlledSource(video)
        with ControlServer(controls, port=0, token=TOKEN) as server:
            for method, path, body in (
                ("GET", "/cameras", None),
                ("POST", "/camera", {"device": "1"}),
            ):
                status, reply = call(server.port, method, path, body)
                assert status == 404 and "source is 'video', not a camera" in reply["error"]
            status, reply = call(server.port, "GET", "/settings")
            row = next(s for s in reply["settings"] if s["key"] == "source.mirror")
            assert row["kind"] == "toggle" and row["value"] is False
            status, reply = call(server.port, "POST", "/settings", {"source.mirror": "yes"})
            assert status == 400 and reply["error"].startswith("source.mirror: expected true")
            assert call(server.port, "POST", "/settings", {"source.mirror": True})[0] == 200
            controls.apply_pending()  # the render loop's turn
            assert r.source.mirror is True
            np.testing.assert_array_equal(
                r.source.read().image, decode_rgb(clips_dir / "lp_d1.mp4")[0][:, ::-1]
            )
