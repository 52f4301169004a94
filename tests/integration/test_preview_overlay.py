"""The preview window on a virtual X server shows the picture with no timing overlay until `t`
is pressed; `reenact live` tells the user about the preview's keys only when there is one."""

from __future__ import annotations

import logging
import shutil

import cv2
import numpy as np
import pytest

from reenact.config import load_config
from reenact.stream.live import LiveHooks
from reenact.stream.session import run_session
from tests.integration.test_live_preview import TITLE, grab_window

SHOT_DEFAULT, PRESS_T, SHOT_ASKED = 6, 7, 10  # frames: read back, press t, read back again


class KeyedHooks(LiveHooks):
    """The real live hooks; `t` pressed after frame PRESS_T, the window read back twice."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self.count, self.shots = 0, {}

    def hook(self, output, frame, result) -> bool:
        self.count += 1
        if self.count == PRESS_T:
            self.controls.key(ord("t"))
        keep = super().hook(output, frame, result)
        if self.count in (SHOT_DEFAULT, SHOT_ASKED):
            self.shots[self.count] = (output.copy(), grab_window(TITLE), self.overlay_lines())
        return keep


def text_share(shot) -> float:
    """The share of pixels below the first text line (where the timings go) that the window
    shows far from the output's: text drawn over the picture."""
    output, screen, _lines = shot
    height, width = output.shape[:2]
    screen = cv2.resize(screen, (width, height), interpolation=cv2.INTER_AREA)
    step = int(28 * max(0.4, height / 1080)) + 4  # the window sink's line height
    rows = slice(int(1.4 * step), 10 * step)
    far = np.abs(screen.astype(np.int16) - output.astype(np.int16))[rows, : width // 2].max(-1)
    return float((far > 80).mean())


@pytest.mark.skipif(shutil.which("xwd") is None, reason="no xwd: apt-get install x11-apps")
def test_no_timings_on_the_preview_until_t(virtual_display, clips_dir, tmp_path, caplog):
    config = load_config(
        None,
        [],
        flags={
            "source.kind": "video",
            "source.path": str(clips_dir / "lp_d0.mp4"),
            "sink.kind": "file",
            "sink.path": str(tmp_path / "live.mp4"),
            "renderer.kind": "warp",
            "stream.max_frames": SHOT_ASKED + 1,
            "panel.port": 0,
        },
    )
    caplog.set_level(logging.INFO, logger="reenact")  # the start line, whatever set up logging
    hooks = KeyedHooks(config)
    try:
        run_session(config, on_frame=hooks, show_progress=False)
    finally:
        hooks.close()
    assert hooks.separate_preview
    assert "Press h in the preview window for help (t: timings)" in caplog.text
    default, asked = hooks.shots[SHOT_DEFAULT], hooks.shots[SHOT_ASKED]
    assert not any(line.endswith((" ms", " fps")) for line in default[2]), default[2]
    assert sum(line.endswith(" ms") for line in asked[2]) >= 3, asked[2]
    assert text_share(default) < 0.002, "text under the first line before t was pressed"
    assert text_share(asked) > 0.01, "no timings on the window after t"
