"""OBS's Browser Source page over transparency, in a real browser (Debian's Chromium, headless).

A real `reenact live` with `compose.background: transparent`, a photo and an RGBA cartoon in its
gallery. The output stream's parts are WebP with alpha; the page /output, opened as OBS opens
it (`?token=`), is read back pixel by pixel (its <img> drawn to a canvas, same origin): clear
around the avatar, opaque on the face tracked in it, for the photo and then for the cartoon.
"""

from __future__ import annotations

import base64
import http.client
import time

import cv2
import numpy as np
import pytest

from reenact.errors import InputError
from tests.alpha_media import PHOTO, far_from, on_face, rgba_cartoon
from tests.browser.chromium import open_chromium, require_chromium
from tests.panel_session import LiveSession

require_chromium()  # skips this module without selenium or Chromium

SIDE = 384  # stream.max_output_side: small frames, a fast test
PAGE_PIXELS = """
const img = document.getElementById("output");
if (!img || !img.complete || !img.naturalWidth) return null;
const canvas = document.createElement("canvas");
canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
canvas.getContext("2d").drawImage(img, 0, 0);
return canvas.toDataURL("image/png");
"""


@pytest.fixture
def browser():
    with open_chromium(800, 800) as driver:
        yield driver


def page_rgba(browser) -> np.ndarray | None:
    """What the page's <img> shows now, (H, W, 4) uint8 RGBA, or None before a frame came."""
    url = browser.execute_script(PAGE_PIXELS)
    if not url:
        return None
    data = np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8)
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)


def wait_for_pixels(browser, check, what: str, timeout_s: float = 60.0) -> np.ndarray:
    """The page's pixels once `check(rgba)` holds for them (an AssertionError says which not)."""
    deadline = time.monotonic() + timeout_s
    reason = "no frame shown"
    while time.monotonic() < deadline:
        rgba = page_rgba(browser)
        if rgba is not None:
            try:
                check(rgba)
                return rgba
            except (AssertionError, InputError) as exc:  # InputError: no face tracked in it
                reason = str(exc)
        time.sleep(0.3)
    raise AssertionError(f"the OBS page never showed {what}: {reason}")


def first_part_type(live: LiveSession) -> str:
    """The Content-Type of the first part of /stream/output.mjpg."""
    connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    try:
        connection.request(
            "GET",
            "/stream/output.mjpg",
            headers={"Host": f"127.0.0.1:{live.port}", "X-Reenact-Token": live.token},
        )
        response = connection.getresponse()
        assert response.status == 200
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 4096:
            head += response.read(1)
        return next(
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-type:")
        )
    finally:
        connection.close()


def select(live: LiveSession, name: str) -> None:
    _, body, _ = live.call("GET", "/targets")
    index = next(t["index"] for t in body["targets"] if t["name"].startswith(name))
    code, _, _ = live.call("POST", f"/targets/{index}/select")
    assert code == 200
    live.wait_for(lambda s: s["target"].startswith(name))


def test_the_obs_page_is_transparent_around_the_avatar(browser, tmp_path, clips_dir, portraits_dir):
    cartoon, cartoon_alpha = rgba_cartoon(portraits_dir, tmp_path, SIDE)
    live = LiveSession(
        clips_dir / "lp_d0.mp4",
        tmp_path / "session",
        targets=[portraits_dir / PHOTO, cartoon],
        extra=[
            "--set",
            "compose.background=transparent",
            "--set",
            f"stream.max_output_side={SIDE}",
        ],
    )
    try:
        live.wait_for(lambda s: "render" in s.get("stages_ms", {}))
        select(live, PHOTO.split(".")[0])
        assert first_part_type(live) == "image/webp"
        browser.get(f"{live.url}/output?token={live.token}")

        def photo_shown(rgba):
            alpha = rgba[..., 3]
            assert alpha[:4, :4].max() == 0 and alpha[:4, -4:].max() == 0, "corners not clear"
            assert on_face(alpha, rgba[..., :3]).min() == 255, "face not opaque"
            assert 0.15 < (alpha > 127).mean() < 0.85, "not a person's share of the frame"

        wait_for_pixels(browser, photo_shown, "the photo over transparency")

        select(live, "cartoon")
        far = far_from(cartoon_alpha, 0.15)

        def cartoon_shown(rgba):
            assert rgba.shape[:2] == cartoon_alpha.shape, f"size {rgba.shape}"
            assert rgba[..., 3][far].max() == 0, "not clear where the cartoon's alpha is"
            assert on_face(rgba[..., 3], rgba[..., :3]).min() == 255, "face not opaque"

        wait_for_pixels(browser, cartoon_shown, "the RGBA cartoon over transparency")
        assert live.process.poll() is None
    finally:
        live.close()
