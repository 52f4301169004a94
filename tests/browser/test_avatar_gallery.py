"""A personal avatar in the panel's gallery, in a real browser (headless Chromium): its thumbnail
wears an "avatar" badge with its validation SSIM (the whole score line in its title), and a click on it switches the
target and the generator to the avatar's own."""

from __future__ import annotations

import pytest

from tests.avatar_files import make_avatar
from tests.browser.chromium import open_chromium, require_chromium, wait_until
from tests.panel_session import LiveSession

require_chromium()  # skips this module without selenium or Chromium

from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture
def browser():
    with open_chromium(1400, 900) as driver:
        yield driver


def test_the_gallery_badges_an_avatar_and_switches_to_it(
    browser, tmp_path, clips_dir, portraits_dir
):
    avatar = make_avatar(tmp_path / "anna.avatar", portraits_dir / "lp_s0.jpg", shift=0.5)
    live = LiveSession(
        clips_dir / "lp_d0.mp4",
        tmp_path / "session",
        targets=[avatar, portraits_dir / "lp_s1.jpg"],
        extra=["--renderer", "auto", "-v"],
    )
    try:
        live.wait_for(lambda s: "render" in s.get("stages_ms", {}), timeout_s=180)
        browser.get(f"{live.url}/?token={live.token}")
        badge = wait_until(
            lambda: browser.find_elements(By.CSS_SELECTOR, ".avatar-cell .badge"),
            what="the avatar's badge",
        )[0]
        assert badge.text == "avatar 0.78" and badge.is_displayed()
        assert badge.get_attribute("title") == "avatar, SSIM 0.781 vs warp 0.715"
        thumb = browser.find_element(By.CSS_SELECTOR, ".avatar-cell .thumb")
        assert thumb.get_attribute("title").startswith("anna.avatar (avatar, SSIM 0.781")
        assert len(browser.find_elements(By.CSS_SELECTOR, ".badge")) == 1  # pictures: none
        browser.save_screenshot(str(tmp_path / "gallery.png"))
        thumb.click()
        status = live.wait_for(lambda s: s["target"] == "anna.avatar")
        assert status["target"] == "anna.avatar"
        wait_until(
            lambda: "avatar anna.avatar: its own generator" in live.stderr,
            what="the avatar's generator",
        )
    finally:
        live.close()
