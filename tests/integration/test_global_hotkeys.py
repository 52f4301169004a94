"""Global hotkeys end to end: pynput's real listener on a virtual X server with keys typed
through XTest, and `reenact live` as a user runs it where global keys cannot be had."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from reenact.config import load_config
from reenact.stream.controls import Controls
from reenact.stream.hotkeys import parse_bindings, start_hotkeys
from tests.helpers import reenactor
from tests.integration.test_cli import REENACT, one_line_error, reenact


def wait_for(check, timeout_s: float = 5.0) -> bool:
    """Poll `check()` (which applies the queued controls) until true or `timeout_s` passed."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_pynput_on_x_holds_a_preset_while_the_keys_are_down(
    virtual_display, monkeypatch, capsys
) -> None:
    pytest.importorskip("pynput")
    from reenact.pipeline.target import prepare_target

    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    config = load_config(None, ["renderer.kind=warp", "fusion.kind=training_free"])
    controls = Controls(reenactor(config, prepare_target("", config)))
    hotkeys = start_hotkeys(parse_bindings(config.hotkeys.keys), controls)
    assert hotkeys is not None, capsys.readouterr().err
    assert "reenact: global hotkeys on: ctrl+alt+1 preset_1" in capsys.readouterr().err
    from pynput.keyboard import Controller, Key

    keyboard, presets = Controller(), controls.reenactor.presets  # types through XTest

    def on() -> list[str]:
        controls.apply_pending()
        return presets.status()["on"]

    try:
        keyboard.press(Key.ctrl)
        keyboard.press(Key.alt)
        keyboard.press("1")
        assert wait_for(lambda: on() == ["smile"])
        keyboard.release("1")
        assert wait_for(lambda: on() == [])
        keyboard.press("p")  # a fired action: once per press
        keyboard.release("p")
        assert wait_for(lambda: on() == [] and controls.reenactor.paused)
    finally:
        for key in ("1", "p", Key.alt, Key.ctrl):
            keyboard.release(key)
        hotkeys.stop()
    keyboard.press(Key.ctrl)  # after stop(): no action, and pynput's X listener ends on it
    keyboard.release(Key.ctrl)
    hotkeys.listener.join(5.0)
    assert not hotkeys.listener.is_alive()
    assert on() == [] and controls.state.pending == {}
    del keyboard  # its X connection closes now, while the virtual X server still runs


def test_live_without_a_display_says_why_and_runs(clips_dir, tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [
            *REENACT,
            "live",
            "--source",
            f"video:{clips_dir / 'lp_d0.mp4'}",
            "--sink",
            "null",
            "--renderer",
            "warp",
            "--max-frames",
            "3",
            "--set",
            "hotkeys.enabled=true",
            "--set",
            "panel.port=0",
            "--set",
            f"stream.output_dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    off = [line for line in lines if "global hotkeys" in line]
    assert off == [
        "reenact: global hotkeys are off: no X display (DISPLAY is not set): global "
        "hotkeys need a desktop session"
    ], result.stderr
    started = next(line for line in lines if line.startswith("reenact: live."))
    assert "preview" not in started and "panel" in started, started  # no window to press h in
    assert "Traceback" not in result.stderr


def test_a_bad_binding_ends_live_in_one_line(clips_dir, tmp_path) -> None:
    result = reenact(
        "live",
        "--source",
        f"video:{clips_dir / 'lp_d0.mp4'}",
        "--sink",
        "null",
        "--set",
        "hotkeys.enabled=true",
        "--set",
        'hotkeys.keys=["ctrl+alt+1=dance"]',
        cwd=tmp_path,
        timeout=120,
    )
    line = one_line_error(result)
    assert line.startswith(
        "reenact: error: hotkeys.keys: 'ctrl+alt+1=dance': unknown "
        "action 'dance'; valid: recalibrate, pause"
    ), line
