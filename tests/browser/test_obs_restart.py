"""OBS's Browser Source across a restart (issue 90, build 2), in a real Chromium: the page of
run 1's OBS address keeps working when reenact stops and starts again on the same port, with
the same kept token: it reconnects by itself, without a reload, and shows run 2's frames.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from tests.browser.chromium import open_chromium, require_chromium, wait_until
from tests.helpers import free_tcp_port
from tests.panel_session import LiveSession

require_chromium()  # skips this module without selenium or Chromium


@pytest.fixture
def browser():
    with open_chromium(640, 640) as driver:
        yield driver


def shot(browser) -> np.ndarray:
    """The page as it looks now: (H, W, 3) uint8."""
    png = np.frombuffer(browser.get_screenshot_as_png(), np.uint8)
    return cv2.imdecode(png, cv2.IMREAD_COLOR)


def differs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_obs_page_reconnects_to_the_next_run_without_a_reload(
    browser, tmp_path, clips_dir, portraits_dir
):
    port = free_tcp_port()
    clip, fixed = clips_dir / "lp_d0.mp4", ["--set", f"panel.port={port}"]
    first = LiveSession(clip, tmp_path / "first", extra=fixed)  # the built-in astronaut
    try:
        obs_address = f"{first.url}/output?token={first.token}"
        browser.get(obs_address)
        blank = shot(browser)
        wait_until(
            lambda: differs(shot(browser), blank) > 5 or shot(browser).std() > 20,
            60,
            "run 1's frames on the OBS page",
        )
        time.sleep(1.0)
        browser.execute_script("window.sameDocument = 'run 1';")
        before = shot(browser)
    finally:
        first.close()
    second = LiveSession(
        clip, tmp_path / "second", extra=[*fixed, "--target", str(portraits_dir / "lp_s0.jpg")]
    )
    try:
        assert f"{second.url}/output?token={second.token}" == obs_address  # the same link
        # another face: the page shows run 2's frames once it has reconnected by itself
        wait_until(lambda: differs(shot(browser), before) > 25, 90, "run 2's frames")
        assert browser.execute_script("return window.sameDocument;") == "run 1"  # no reload
        assert second.status()["frames"] > 0
    finally:
        second.close()
