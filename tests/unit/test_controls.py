"""Live controls: hotkeys and the local control interface act on the same state."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest

from reenact.stream.control_server import ControlServer
from reenact.stream.controls import HOTKEYS, Controls


class FakeReenactor:
    """Only the attributes the controls change (the real one needs a tracker and a target)."""

    def __init__(self) -> None:
        self.paused = False
        self.intensity = 1.0
        self.smoothing = True
        self.calibrating = False
        self.recalibrated = 0
        self.target = SimpleNamespace(name="astronaut")
        self.face_lost = SimpleNamespace(is_lost=False)
        self.landmark_filter = SimpleNamespace(reset=lambda: None)

    def recalibrate(self) -> None:
        self.recalibrated += 1


def test_hotkeys_map_to_actions():
    r = FakeReenactor()
    switched = []
    controls = Controls(r, switch_target=lambda step: switched.append(step) or f"target {step}")
    for key in "cp+++-sn":
        controls.key(ord(key))
    controls.key(ord("b"))
    controls.key(None)
    controls.apply_pending()
    assert r.recalibrated == 1 and r.paused
    assert r.intensity == pytest.approx(1.2)
    assert r.smoothing is False
    assert switched == [1, -1]
    controls.key(ord("q"))
    controls.apply_pending()
    assert controls.state.quit
    assert set(HOTKEYS.values()) <= set(Controls.ACTIONS)


def test_intensity_is_clamped():
    r = FakeReenactor()
    controls = Controls(r)
    for _ in range(20):
        controls.apply("intensity_up")
    assert r.intensity == 1.5
    for _ in range(40):
        controls.apply("intensity_down")
    assert r.intensity == 0.0


def _call(url: str, method: str = "GET", token: str | None = None):
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    if token is not None:
        request.add_header("X-Reenact-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_control_interface_is_local_and_needs_the_token():
    r = FakeReenactor()
    controls = Controls(r)
    with ControlServer(controls, port=0, token="s3cret") as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.httpd.server_address[0] == "127.0.0.1"
        assert _call(f"{server.url}/status")[0] == 401
        assert _call(f"{server.url}/status", token="wrong")[0] == 401
        assert _call(f"{server.url}/action/pause", "POST", token="nope")[0] == 401
        code, status = _call(f"{server.url}/status", token="s3cret")
        assert code == 200 and status["paused"] is False and status["target"] == "astronaut"
        assert _call(f"{server.url}/action/pause", "POST", token="s3cret") == (200, {"ok": True})
        assert _call(f"{server.url}/action/explode", "POST", token="s3cret")[0] == 400
        assert not r.paused  # queued: applied on the main thread, between frames
        controls.apply_pending()
        assert r.paused


def test_generated_token_is_long_and_random():
    a = ControlServer(Controls(FakeReenactor()), port=0)
    b = ControlServer(Controls(FakeReenactor()), port=0)
    try:
        assert len(a.token) >= 16 and a.token != b.token
    finally:
        a.close()
        b.close()
