"""Presets in a live run on a looping real clip: key 1 and the control interface widen the
target's mouth (re-tracked with the real face mesh) within the blend time, and release returns
it to the live expression. A recorded preset round-trips through record, list and fire.

The preview window is scripted (this machine has no display): it receives every output frame
and hands the loop the keys a user would press, through the same `poll_key()` as the window."""

from __future__ import annotations

import json
import math
import urllib.request

import numpy as np
import pytest

from reenact.config import load_config
from reenact.errors import InputError
from reenact.landmarks.tracker import FaceTracker
from reenact.stream.live import LiveHooks
from reenact.stream.session import run_session
from reenact.video import clip_fps
from tests.helpers import free_tcp_port

PRESS, RELEASE, FRAMES = 15, 30, 45  # the key goes down after frame 15's output, up after 30's


def mouth_width(lm: np.ndarray) -> float:
    iod = np.hypot(*((lm[263, :2] + lm[362, :2]) / 2 - (lm[33, :2] + lm[133, :2]) / 2))
    return float(np.hypot(*(lm[61, :2] - lm[291, :2])) / iod)


class ScriptedPreview:
    """Stands in for the preview window: keeps the outputs, 'presses' keys at set frames."""

    preview = True

    def __init__(self, keys: dict[int, object]) -> None:
        self.keys = keys
        self.overlay: list[str] = []
        self.outputs: list[np.ndarray] = []

    def write(self, image: np.ndarray) -> None:
        self.outputs.append(image.copy())

    def set_overlay_lines(self, lines: list[str]) -> None:
        self.overlay = list(lines)

    def poll_key(self):
        key = self.keys.get(len(self.outputs) - 1)
        return key() if callable(key) else key

    def close(self) -> None:
        pass


def live_run(clip, tmp_path, keys: dict[int, object], *overrides: str) -> list[np.ndarray]:
    config = load_config(
        None,
        [
            "source.kind=video",
            f"source.path={clip}",
            "source.loop=true",
            "sink.kind=null",
            "renderer.kind=warp",
            "calibration.neutral_frames=5",
            f"stream.max_frames={FRAMES}",
            f"stream.output_dir={tmp_path}",
            "panel.port=0",
            *overrides,
        ],
    )
    hooks = LiveHooks(config)
    preview = ScriptedPreview(keys)

    def on_frame(reenactor, sink):
        hook = hooks(reenactor, sink)
        hooks.preview, hooks.separate_preview = preview, True
        return hook

    try:
        run_session(config, show_progress=False, on_frame=on_frame)
    finally:
        hooks.close()
    assert len(preview.outputs) == FRAMES
    return preview.outputs


def widths(frames: list[np.ndarray]) -> np.ndarray:
    with FaceTracker(static=True) as tracker:
        return np.array([mouth_width(tracker.track_one(f)) for f in frames])


@pytest.fixture(scope="module")
def actor(clips_dir):
    return clips_dir / "lp_d1.mp4"  # 16 frames: it loops twice in a run


@pytest.fixture(scope="module")
def baseline(actor, tmp_path_factory):
    return widths(live_run(actor, tmp_path_factory.mktemp("base"), {}))


def check_press_and_release(diff: np.ndarray, fps: float, blend_s: float = 0.15) -> None:
    """diff: per-frame mouth width with the preset minus without (inter-ocular units)."""
    blend = math.ceil(blend_s * fps)  # frames the blend takes at the clip's rate
    on, off = PRESS + 1, RELEASE + 1  # the first frames rendered after the key went down / up
    assert np.abs(diff[6:on]).max() < 0.02  # identical before the press
    plateau = np.median(diff[on + blend : off])
    assert plateau > 0.12  # the target's mouth is clearly wider
    assert diff[on + blend] > 0.85 * plateau  # ... within the blend time
    assert 0 <= diff[on] < 0.5 * plateau  # blended in, not switched
    assert np.abs(diff[off + blend + 1 :]).max() < 0.02  # back to the live expression


def test_key_1_fires_smile_and_release_returns(actor, baseline, tmp_path):
    # the OpenCV preview sees no key-up: key 1 toggles (press, then press again to release)
    out = live_run(actor, tmp_path, {PRESS: ord("1"), RELEASE: ord("1")})
    check_press_and_release(widths(out) - baseline, clip_fps(actor))


def test_control_interface_holds_and_releases(actor, baseline, tmp_path):
    port = free_tcp_port()

    def post(action: str):
        def send():
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/action/{action}",
                method="POST",
                data=b"",
                headers={"X-Reenact-Token": "preset-test-token-0042"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert json.loads(response.read()) == {"ok": True}
            return None  # no key: the action went through the control interface

        return send

    out = live_run(
        actor,
        tmp_path,
        {PRESS: post("preset_on:smile"), RELEASE: post("preset_off:smile")},
        f"panel.port={port}",
        "panel.token=preset-test-token-0042",
    )
    check_press_and_release(widths(out) - baseline, clip_fps(actor))


def test_recorded_preset_round_trips(clips_dir, tmp_path, capsys):
    """record from a real clip frame -> list shows it -> firing it by name moves the target."""
    from reenact.cli.main import main

    folder = tmp_path / "presets"
    clip = clips_dir / "lp_d0.mp4"  # frame 30: a broad smile (reenact preset find smile)
    assert (
        main(["preset", "record", "mine", "--source", f"video:{clip}:30", "--out", str(folder)])
        == 0
    )
    assert main(["preset", "list", "--set", f"presets.folder={folder}"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("mine ")]
    assert listed and "lp_d0.mp4 frame 30" in listed[0]
    assert (
        main(["preset", "record", "bad", "--source", f"video:{clip}:99999", "--out", str(folder)])
        == 2
    )  # one clear error, no file
    assert not (folder / "bad.npz").exists()
    out = live_run(
        clips_dir / "lp_d1.mp4",
        tmp_path,
        {PRESS: ord("1")},
        f"presets.folder={folder}",
        "presets.keys=[mine]",
    )
    diff = widths(out[PRESS + 8 :]) - widths(out[PRESS - 8 : PRESS])[:, None].mean()
    assert np.median(diff) > 0.1


class FakeCamera:
    """Stands in for a webcam (none on this machine): serves a real clip's frames, then ends."""

    live = True

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = list(frames)

    def read(self):
        import time

        from reenact.plugin_api import Frame

        if not self.frames:
            return None
        return Frame(self.frames.pop(0), 0, time.perf_counter_ns())


def test_record_from_the_camera_keeps_the_strongest_frame(clips_dir):
    """Calibrate on the first frames, then keep the frame that smiles most (lp_d0 smiles
    broadly around frame 30)."""
    from reenact.fusion.preset_record import from_camera
    from reenact.landmarks.expression import feature_deltas
    from tests.helpers import decode_rgb

    config = load_config(None, ["calibration.neutral_frames=5"])
    frames = decode_rgb(clips_dir / "lp_d0.mp4")[:40]
    recording = from_camera(FakeCamera(frames), config, 256, seconds=60.0, cls="smile")
    assert feature_deltas(recording.expression, recording.neutral)["mouth_width"] > 0.1
    with pytest.raises(InputError, match="camera"):
        from_camera(FakeCamera(frames[:5]), config, 256, seconds=60.0, cls="smile")
