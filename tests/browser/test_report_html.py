"""report.html in a real headless Chromium: a short real `reenact eval`, its page opened through
Selenium, a screenshot taken, and the tables and pictures checked there.

Needs Debian's `chromium` and `chromium-driver` (`.ci/install-system-deps`, run by `make test`);
skips, saying so, only where they cannot be found.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
RENDERERS = ("identity", "warp", "generator:shipped")


def _browser() -> tuple[str, str]:
    binary = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip(
            "Chromium or chromedriver not found on PATH: install Debian's chromium and "
            "chromium-driver (bash .ci/install-system-deps, as root)"
        )
    return binary, driver


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, media_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("html") / "report"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reenact.cli.main",
            "eval",
            "--clips",
            str(media_dir / "clips" / "lp_d1.mp4"),
            "--portraits",
            str(media_dir / "portraits" / "lp_s42.jpg"),
            "--max-frames",
            "10",
            "--out",
            str(out),
            "--no-progress",
            "--set",
            "calibration.neutral_frames=4",
            "--set",
            "eval.still_frames=4",
            "--set",
            "eval.strip_frames=2",
            "--set",
            "renderer.threads=1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = _browser()
    options = Options()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1600,1200",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_report_page_shows_the_tables_and_pictures(report_dir: Path, browser, tmp_path: Path):
    from selenium.webdriver.common.by import By

    page = report_dir / "report.html"
    assert page.is_file()
    browser.get(page.resolve().as_uri())
    assert browser.title == "reenact eval report"
    for table_id in ("summary", "viewer"):
        table = browser.find_element(By.ID, table_id)
        assert table.is_displayed()
        rows = [
            r.find_element(By.TAG_NAME, "td").text
            for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")
        ]
        assert set(RENDERERS) <= set(rows), rows
    headers = browser.find_element(By.ID, "viewer").find_elements(By.TAG_NAME, "th")
    assert any("expression r" in h.text for h in headers)
    assert any("seam" in h.text for h in headers)
    loaded = browser.execute_script(
        "return Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
    )
    assert loaded and all(loaded), "a picture did not load"

    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[0] >= 600 and image.shape[1] >= 800
    # the summary table is in the first screenful and is drawn: its box holds dark text pixels
    rect = browser.find_element(By.ID, "summary").rect
    x0, y0 = int(rect["x"]), int(rect["y"])
    x1, y1 = int(rect["x"] + rect["width"]), int(rect["y"] + rect["height"])
    assert y1 <= image.shape[0] and x1 <= image.shape[1], (rect, image.shape)
    cell = image[y0:y1, x0:x1]
    assert (cell.min(axis=2) < 80).mean() > 0.01, "the table's text is not in the screenshot"
    assert np.std(image) > 10
