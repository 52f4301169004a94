"""The panel in a real browser: Debian's Chromium, headless, driven by Selenium.

A real `reenact live` on a looping clip; the page loads from the printed address, the output
preview updates, the intensity slider moved with the mouse reaches `/status`, a click on a
thumbnail switches the target, a portrait picked in the page becomes the target, and a
screenshot is saved in the test's temp folder (and, when REENACT_PANEL_SCREENSHOT names a file,
copied there: that is docs/panel.png).
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.browser.chromium import open_chromium, require_chromium, wait_until
from tests.panel_session import LiveSession

require_chromium()  # skips this module without selenium or Chromium

from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


@pytest.fixture
def browser():
    with open_chromium(1400, 900) as driver:
        yield driver


def click_thumb(browser, index: int) -> None:
    """Click a gallery thumbnail, finding it again if the page redrew the gallery meanwhile."""
    for _ in range(5):
        try:
            browser.find_element(By.CSS_SELECTOR, f'.thumb[data-index="{index}"]').click()
            return
        except StaleElementReferenceException:
            time.sleep(0.2)
    raise AssertionError(f"thumbnail {index} kept being redrawn")


def jpegs_made(live, seconds: float = 2.5) -> dict:
    """JPEGs the server encoded per feed over `seconds`."""
    before = live.status()["jpegs"]
    time.sleep(seconds)
    after = live.status()["jpegs"]
    return {name: after[name] - before[name] for name in after}


def check_previews_stream_only_when_shown(browser, live) -> None:
    """One image for both previews, at panel.preview_height; nothing is encoded for a panel
    whose tab is in the background or whose previews are off; unticking the camera preview
    switches to the output alone."""
    preview = browser.find_element(By.ID, "output-preview")
    height = live.status()["preview_height"]
    size = browser.execute_script(
        "return [arguments[0].naturalWidth, arguments[0].naturalHeight]", preview
    )
    # the square output and the camera beside it (lp_d0 is square too; the output alone: height)
    assert size[1] == height and size[0] >= 2 * height
    assert jpegs_made(live)["previews"] > 0

    panel = browser.current_window_handle
    browser.switch_to.new_window("tab")  # the panel's tab goes to the background
    time.sleep(1.0)
    assert jpegs_made(live) == {"output": 0, "previews": 0, "preview": 0, "camera": 0}
    browser.close()
    browser.switch_to.window(panel)
    wait_until(lambda: jpegs_made(live, 1.0)["previews"] > 0, 30, "the previews to resume")

    browser.find_element(By.ID, "camera-on").click()
    time.sleep(1.0)
    made = jpegs_made(live)
    assert made["previews"] == 0 and made["preview"] > 0
    wait_until(
        lambda: browser.execute_script("return arguments[0].naturalWidth", preview) == height,
        30,
        "the output alone (square)",
    )

    Select(browser.find_element(By.ID, "preview-rate")).select_by_value("0")  # off
    time.sleep(1.0)
    assert sum(jpegs_made(live).values()) == 0
    Select(browser.find_element(By.ID, "preview-rate")).select_by_value("")
    browser.find_element(By.ID, "camera-on").click()
    wait_until(lambda: jpegs_made(live, 1.0)["previews"] > 0, 30, "the previews to come back")


def test_panel_in_a_real_browser(browser, tmp_path, clips_dir, portraits_dir):
    live = LiveSession(
        clips_dir / "lp_d0.mp4",
        tmp_path / "session",
        targets=[portraits_dir / "lp_s0.jpg", portraits_dir / "lp_s1.jpg"],
    )
    try:
        live.wait_for(lambda s: "render" in s.get("stages_ms", {}))
        browser.get(f"{live.url}/?token={live.token}")
        assert browser.current_url.rstrip("/") == live.url  # token traded for the cookie

        preview = browser.find_element(By.ID, "output-preview")
        wait_until(
            lambda: browser.execute_script("return arguments[0].naturalWidth", preview),
            what="the output preview's first frame",
        )
        first = preview.screenshot_as_png
        wait_until(lambda: preview.screenshot_as_png != first, 30, "the preview to update")

        slider = wait_until(
            lambda: browser.find_elements(By.CSS_SELECTOR, 'input[data-key="stream.intensity"]'),
            what="the settings",
        )[0]
        ActionChains(browser).drag_and_drop_by_offset(
            slider, -slider.size["width"] // 3, 0
        ).perform()
        moved = float(slider.get_attribute("value"))
        assert moved < 0.9
        status = live.wait_for(lambda s: s["intensity"] == moved)
        assert status["settings"]["stream.intensity"] == moved

        wait_until(
            lambda: browser.find_elements(By.CSS_SELECTOR, '.thumb[data-index="2"]'),
            what="the gallery",
        )
        kept = browser.find_element(By.CSS_SELECTOR, '.thumb[data-index="0"]')
        click_thumb(browser, 2)
        assert live.wait_for(lambda s: s["target"] == "lp_s1.jpg")["target"] == "lp_s1.jpg"
        wait_until(
            lambda: (
                browser.execute_script(  # the page redraws the gallery: ask it anew
                    "const t = document.querySelector('.thumb.current'); return t && t.dataset.index"
                )
                == "2"
            ),
            what="the gallery to mark the new target",
        )
        # a switch moves the mark and keeps the thumbnails (a rebuilt one would be stale here,
        # and a click spanning the rebuild would be lost)
        assert "current" not in kept.get_attribute("class").split()
        chip = browser.find_element(By.ID, "chip-fps").text
        assert chip.endswith("fps") and chip != "- fps"

        picker = browser.find_element(By.ID, "upload-input")  # the file picker behind the box
        browser.execute_script("arguments[0].style.display = 'block'", picker)
        picker.send_keys(str(portraits_dir / "lp_s2.jpg"))
        assert live.wait_for(lambda s: s["target"] == "lp_s2.png")["target"] == "lp_s2.png"
        wait_until(
            lambda: "added lp_s2.png" in browser.find_element(By.ID, "message").text,
            what="the page to say the portrait was added",
        )
        browser.execute_script("arguments[0].style.display = ''", picker)

        click_thumb(browser, 0)  # and back
        assert live.wait_for(lambda s: s["target"] == "astronaut")["target"] == "astronaut"
        time.sleep(2.0)  # let the cross-fade finish and the page poll once more for the picture
        shot = tmp_path / "panel.png"
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        if os.environ.get("REENACT_PANEL_SCREENSHOT"):
            shutil.copy(shot, os.environ["REENACT_PANEL_SCREENSHOT"])

        check_previews_stream_only_when_shown(browser, live)

        browser.get(f"{live.url}/output?token={live.token}")  # the OBS page: the output only
        output = browser.find_element(By.ID, "output")
        wait_until(
            lambda: browser.execute_script("return arguments[0].naturalWidth", output),
            what="the OBS page's first frame",
        )
        assert not browser.find_elements(By.TAG_NAME, "input")
    finally:
        live.close()
