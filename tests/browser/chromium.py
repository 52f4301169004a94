"""Debian's headless Chromium through selenium, for the browser tests: one way to start it.

`require_chromium()` at a test module's top skips the module, saying what to install, where
selenium or Chromium is missing; `open_chromium(width, height)` yields a driver and quits it; `wait_until` polls the page.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def require_chromium():
    """selenium's webdriver module; skips the calling module when it or Chromium is missing."""
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')"
    )
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(
            "no Chromium here: install Debian's chromium and chromium-driver "
            "(.ci/install-system-deps does, as root)",
            allow_module_level=True,
        )
    return webdriver


@contextmanager
def open_chromium(width: int, height: int, *, exact_viewport: bool = False) -> Iterator:
    """A headless Chromium window of `width` x `height` (the page's viewport exactly that size
    when `exact_viewport`, as on a screen of that size); quit on leaving."""
    webdriver = require_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options
    )
    driver.set_page_load_timeout(60)
    if exact_viewport:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
    try:
        yield driver
    finally:
        driver.quit()


def wait_until(condition, timeout_s: float = 60.0, what: str = ""):
    """`condition()`'s first truthy value, polled every 0.2 s; AssertionError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
