"""Live controls: hotkeys and the local control interface act on the same state."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import pytest

from reenact.stream.control_server import ControlServer
from reenact.stream.controls import HOTKEYS, Controls

from tests.helpers import reenactor


@pytest.fixture(scope="module")
def target():
    from reenact.config import load_config
    from reenact.pipeline.target import prepare_target

    return prepare_target("", load_config())


def make_reenactor(target, source_neutral=None):
    """A real Reenactor on the built-in target, with the warp renderer."""
    from reenact.config import load_config

    config = load_config(None, ["renderer.kind=warp", "fusion.kind=training_free"])
    return reenactor(config, target, source_neutral=source_neutral)


def test_hotkeys_map_to_actions(target):
    r = make_reenactor(target, target.landmarks_crop)
    switched = []
    controls = Controls(r, switch_target=lambda step: switched.append(step) or f"target {step}")
    for key in "cp+++-snnn":
        controls.key(ord(key))
    controls.key(ord("b"))
    controls.key(None)
    controls.apply_pending()
    assert r.calibrating and r.paused  # recalibration started, pass-through on
    assert r.intensity == pytest.approx(1.2)
    assert r.smoothing is False
    assert switched == [2]  # three forward, one back: one switch by two places
    controls.key(ord("q"))
    controls.apply_pending()
    assert controls.state.quit
    assert set(HOTKEYS.values()) <= set(Controls.ACTIONS)


def test_repeated_actions_coalesce(target):
    """400 queued next_target requests are one switch (one cross-fade), toggles keep parity."""
    r = make_reenactor(target)
    switched = []
    controls = Controls(r, switch_target=lambda step: switched.append(step) or "")
    for _ in range(400):
        controls.request("next_target")
    for _ in range(4):
        controls.request("pause")
    for _ in range(1000):
        controls.request("intensity_down")
    assert len(controls.state.pending) == 3  # bounded: one entry per distinct action
    controls.apply_pending()
    assert switched == [400] and r.paused is False and r.intensity == 0.0
    controls.request("pause")
    controls.apply_pending()
    assert r.paused and controls.state.pending == {}


def test_intensity_is_clamped(target):
    r = make_reenactor(target)
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


def test_control_interface_is_local_and_needs_the_token(target):
    r = make_reenactor(target)
    controls = Controls(r)
    secret = "s3cret-s3cret-s3cret"  # the server refuses a token under 16 characters
    with ControlServer(controls, port=0, token=secret) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.socket.getsockname()[0] == "127.0.0.1"
        assert _call(f"{server.url}/status")[0] == 401
        assert _call(f"{server.url}/status", token="wrong")[0] == 401
        assert _call(f"{server.url}/action/pause", "POST", token="nope")[0] == 401
        code, status = _call(f"{server.url}/status", token=secret)
        assert code == 200 and status["paused"] is False and status["target"] == "astronaut"
        assert _call(f"{server.url}/action/pause", "POST", token=secret) == (200, {"ok": True})
        assert _call(f"{server.url}/action/pause", "POST", token=secret)[0] == 200
        assert _call(f"{server.url}/action/pause", "POST", token=secret)[0] == 200
        assert _call(f"{server.url}/action/explode", "POST", token=secret)[0] == 400
        assert not r.paused  # queued: applied on the main thread, between frames
        controls.apply_pending()
        assert r.paused


def test_generated_token_is_long_and_random(target):
    r = make_reenactor(target)
    a = ControlServer(Controls(r), port=0)
    b = ControlServer(Controls(r), port=0)
    try:
        assert len(a.token) >= 16 and a.token != b.token
    finally:
        a.close()
        b.close()


def test_pause_passes_the_camera_through(target, portraits_dir):
    from reenact.imageio import load_image

    r = make_reenactor(target)
    actor = load_image(portraits_dir / "lp_drv_d19.jpg")
    Controls(r).apply("pause")
    out = r.process(actor, 0.0, None).output
    assert out.shape == target.frame.shape
    h, w = out.shape[:2]
    # the actor's picture, letterboxed into the output frame, not the target
    assert abs(out.mean() - target.frame.mean()) > 1 or not (out == target.frame).all()
    resized = __import__("cv2").resize(actor, (w, h))
    centre = (slice(h // 3, 2 * h // 3), slice(w // 3, 2 * w // 3))
    assert abs(out[centre].astype(float).mean() - resized[centre].astype(float).mean()) < 25


def test_switching_targets_cross_fades_at_the_same_size(target, portraits_dir):
    import numpy as np

    from reenact.config import load_config
    from reenact.pipeline.target import TargetSet

    config = load_config(None, ["renderer.kind=warp"])
    paths = [str(portraits_dir / n) for n in ("lp_drv_d19.jpg", "sadtalker_people_0.png")]
    targets = TargetSet(target, paths, config)
    assert len(targets) == 3
    assert all(t.frame.shape == target.frame.shape for t in targets.targets)
    from reenact.pipeline.reenactor import Tracked

    r = make_reenactor(target, target.landmarks_crop)
    first = r.process(target.frame, 0.0, Tracked(target.landmarks_crop)).output.copy()
    nxt = targets.step(1)
    r.set_target(nxt, crossfade_s=0.5)
    start = r.crossfade.apply(nxt.frame, 10.0)
    middle = r.crossfade.apply(nxt.frame, 10.25)
    end = r.crossfade.apply(nxt.frame, 10.6)
    d = lambda a, b: float(np.abs(a.astype(int) - b.astype(int)).mean())
    assert d(start, first) < 1.0
    assert d(middle, first) > 5 and d(middle, nxt.frame) > 5
    assert d(end, nxt.frame) == 0.0
    assert targets.step(1) is targets.targets[2] and targets.step(1) is target


def test_gaze_and_head_motion_toggle_live(target):
    """`g` switches gaze off and on; `m` cycles head motion off -> rotate -> full; the status
    (what the control interface reports) follows."""
    r = make_reenactor(target)
    controls = Controls(r)
    assert controls.status()["gaze"] is True and controls.status()["head_motion"] == "full"
    for key in "gm":
        controls.key(ord(key))
    controls.apply_pending()
    assert r.motion.eyes.gaze is False and r.motion.mode == "off"
    controls.apply("head_motion")
    controls.apply("gaze")
    assert controls.status()["head_motion"] == "rotate" and controls.status()["gaze"] is True


@pytest.mark.parametrize(
    "name, high", [("gaze_gain", 3.0), ("gaze_vertical", 3.0), ("lid_follow", 1.0)]
)
def test_gaze_gain_is_a_live_setting(target, name, high):
    """eyes.gaze_gain, gaze_vertical and lid_follow start at the config's value, are set
    between frames through the same table as POST /settings (checked against the range, the key
    named) and show in the status."""
    from reenact.stream.live_settings import apply_setting, describe_settings, parse_settings

    r = make_reenactor(target)
    controls = Controls(r)
    key = f"eyes.{name}"
    assert getattr(r.motion.eyes, name) == getattr(r.config.eyes, name)
    value = 0.75 * high
    for k, v in parse_settings({key: value}).items():
        apply_setting(r, k, v)
    assert getattr(r.motion.eyes, name) == value
    assert controls.status()["settings"][key] == value
    row = next(d for d in describe_settings(r) if d["key"] == key)
    assert row["kind"] == "slider" and (row["min"], row["max"]) == (0.0, high)
    for bad in (high + 0.5, -0.1, "high", True):
        with pytest.raises(ValueError, match=f"^{key}"):
            parse_settings({key: bad})
