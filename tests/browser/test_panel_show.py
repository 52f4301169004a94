"""The panel runs the show, in a real browser (Debian's Chromium, headless, through Selenium).

A real `reenact live` whose camera is a still portrait (so the output holds still between
presses) writing a real file: a preset button, pause and quit each show in `/status`, on the
page and in the output; when reenact stops the page says so instead of its last fps, and it
comes back by itself when reenact runs again; at 1920x1080 the preview, the gallery and the
basic controls are all in view without scrolling (screenshot: /tmp/panel-1920.png).
"""

from __future__ import annotations

import http.client
import re
import signal
import time

import av
import cv2
import numpy as np
import pytest

from reenact.pipeline.composite import letterbox
from tests.browser.chromium import open_chromium, require_chromium, wait_until
from tests.helpers import free_tcp_port
from tests.panel_session import LiveSession

require_chromium()  # skips this module without selenium or Chromium

from selenium.webdriver.common.by import By  # noqa: E402

SCREENSHOT = "/tmp/panel-1920.png"
TOKEN = "panel-show-test-token-0123456789"


@pytest.fixture
def browser():
    with open_chromium(1920, 1080, exact_viewport=True) as driver:  # a full-HD screen
        yield driver


def still_session(portraits_dir, work, *, port: int = 0, extra: list[str] = ()) -> LiveSession:
    """reenact live with a still portrait as the camera, paced at 10 fps, into a file; the
    token is given, so a second run on the same port takes the same one."""
    live = LiveSession(
        portraits_dir / "lp_s0.jpg",
        work,
        targets=[portraits_dir / "lp_s1.jpg"],
        env={"REENACT_CONTROL_TOKEN": TOKEN},
        extra=[
            "--source",
            f"image:{portraits_dir / 'lp_s0.jpg'}",
            "--set",
            "source.realtime=true",
            "--set",
            "source.fps=10",
            "--sink",
            f"file:{work / 'show.mp4'}",
            "--set",
            f"panel.port={port}",
            *extra,
        ],
    )
    live.token = TOKEN  # printed as "<token from REENACT_CONTROL_TOKEN>"
    return live


def output_frame(live: LiveSession) -> np.ndarray:
    """The next frame of the audience's output (/stream/output.mjpg), decoded: (H,W,3) BGR."""
    connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    try:
        connection.request(
            "GET", "/stream/output.mjpg?fps=5", headers={"X-Reenact-Token": live.token}
        )
        response = connection.getresponse()
        assert response.status == 200
        data = b""
        for _ in range(2000):
            data += response.read1(65536)
            head = re.search(rb"Content-Length: (\d+)\r\n\r\n", data)
            if head and len(data) >= head.end() + int(head.group(1)):
                jpeg = data[head.end() : head.end() + int(head.group(1))]
                return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        raise AssertionError("no whole JPEG on /stream/output.mjpg")
    finally:
        connection.close()


def difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def changed(a: np.ndarray, b: np.ndarray) -> float:
    """The share of pixels that differ visibly (more than JPEG's noise) between a and b."""
    return float((np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2) > 24).mean())


def page_text(browser, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def click(browser, selector: str) -> None:
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, selector), 30, selector)[0].click()


def check_in_view(browser, element_id: str) -> None:
    """The element is on screen without scrolling: its box inside the 1920x1080 viewport."""
    box = browser.execute_script(
        "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
        "return [r.left, r.top, r.right, r.bottom, innerWidth, innerHeight, scrollY]",
        element_id,
    )
    left, top, right, bottom, width, height, scrolled = box
    assert (width, height, scrolled) == (1920, 1080, 0)
    assert 0 <= left < right <= width and 0 <= top < bottom <= height, (element_id, box)


def test_panel_at_1920x1080_fits_on_one_screen(browser, tmp_path, portraits_dir):
    live = still_session(portraits_dir, tmp_path / "session")
    try:
        live.wait_for(lambda s: "render" in s.get("stages_ms", {}))
        browser.get(f"{live.url}/?token={live.token}")
        preview = browser.find_element(By.ID, "output-preview")
        wait_until(
            lambda: browser.execute_script("return arguments[0].naturalWidth", preview),
            what="the preview's first frame",
        )
        wait_until(
            lambda: browser.find_elements(By.CSS_SELECTOR, '.thumb[data-index="1"]'),
            what="the gallery",
        )
        wait_until(
            lambda: browser.find_elements(By.CSS_SELECTOR, "#presets [data-preset]"),
            what="the preset buttons",
        )
        basic = [
            e.get_attribute("data-key")
            for e in browser.find_elements(By.CSS_SELECTOR, "#settings-basic [data-key]")
        ]
        assert basic[:4] == [
            "stream.intensity",
            "eyes.gaze",
            "head.motion",
            "smoothing.enabled",
        ]
        assert browser.find_element(By.ID, "settings-advanced").find_elements(
            By.CSS_SELECTOR, '[data-key="smoothing.beta"]'
        )  # the rest, folded away
        assert not browser.find_element(By.ID, "advanced").get_attribute("open")
        for element_id in (
            "output-preview",
            "gallery",
            "basic",
            "presets",
            "pause",
            "quit",
            "chip-output",
        ):
            check_in_view(browser, element_id)
        assert (
            page_text(browser, "chip-output")
            == f"output: file → {tmp_path / 'session' / 'show.mp4'}"
        )
        assert browser.save_screenshot(SCREENSHOT)
    finally:
        live.close()


def test_preset_pause_and_quit_from_the_panel(browser, tmp_path, portraits_dir):
    work = tmp_path / "session"
    live = still_session(portraits_dir, work)
    try:
        live.wait_for(lambda s: not s["calibrating"] and s["frames"] > 20)
        neutral, again = output_frame(live), output_frame(live)
        still = changed(neutral, again)  # a still camera: the output holds still
        browser.get(f"{live.url}/?token={live.token}")

        click(browser, '#presets [data-preset="smile"]')
        status = live.wait_for(lambda s: s["presets"]["weights"].get("smile") == 1.0, 30)
        assert status["presets"]["on"] == ["smile"]
        wait_until(
            lambda: (
                "on"
                in browser.find_element(By.CSS_SELECTOR, '[data-preset="smile"]').get_attribute(
                    "class"
                )
            ),
            30,
            "smile lit",
        )
        smiling = output_frame(live)
        assert changed(smiling, neutral) > max(10 * still, 0.001)  # the mouth, at least

        click(browser, "#pause")
        assert live.wait_for(lambda s: s["paused"], 30)["paused"]
        wait_until(lambda: page_text(browser, "pause") == "Resume", 30, "the Resume button")
        camera = cv2.imread(str(portraits_dir / "lp_s0.jpg"))
        passed = output_frame(live)  # the camera passed through, letterboxed to the output
        assert difference(passed, letterbox(camera, passed.shape)) < 4.0
        assert difference(passed, letterbox(camera, passed.shape)) < difference(smiling, passed)
        click(browser, "#pause")
        assert not live.wait_for(lambda s: not s["paused"], 30)["paused"]

        click(browser, "#quit")
        browser.switch_to.alert.accept()
        assert live.process.wait(timeout=60) == 0
        wait_until(
            lambda: browser.find_element(By.ID, "stopped").is_displayed(),
            30,
            "the page to say reenact stopped",
        )
        assert page_text(browser, "chip-fps") == "- fps"
        assert page_text(browser, "chip-face") == "face -"
        assert page_text(browser, "message") == ""  # no "Failed to fetch"
        with av.open(str(work / "show.mp4")) as container:  # the file was closed properly
            assert sum(1 for _ in container.decode(video=0)) > 20
    finally:
        live.close()


def test_page_says_stopped_and_comes_back_with_reenact(browser, tmp_path, portraits_dir):
    port = free_tcp_port()
    live = still_session(portraits_dir, tmp_path / "first", port=port)
    try:
        live.wait_for(lambda s: "render" in s.get("stages_ms", {}))
        browser.get(f"{live.url}/?token={live.token}")
        wait_until(
            lambda: page_text(browser, "chip-fps") not in ("- fps", "0.0 fps"),
            30,
            "the pushed status",
        )
        live.process.send_signal(signal.SIGTERM)  # stopped from the terminal, not the page
        assert live.process.wait(timeout=60) == 128 + signal.SIGTERM
        wait_until(
            lambda: browser.find_element(By.ID, "stopped").is_displayed(),
            30,
            "the page to say reenact stopped",
        )
        assert page_text(browser, "chip-fps") == "- fps"
        time.sleep(1.0)
    finally:
        live.close()
    again = still_session(portraits_dir, tmp_path / "second", port=port)
    try:
        wait_until(
            lambda: not browser.find_element(By.ID, "stopped").is_displayed(),
            60,
            "the page to reconnect by itself",
        )
        wait_until(lambda: page_text(browser, "chip-fps") != "- fps", 30, "status again")
    finally:
        again.close()
