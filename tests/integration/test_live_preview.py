"""The live preview on a virtual X server: the overlay is on screen and never in the output.

`reenact live` with a file sink opens a separate preview window (the file sink has no keys). The
window is read back from the X server (`xwd`, Debian's x11-apps) in the middle of a real run (real
clip, real tracker, real warp), and compared with the frames the file sink wrote.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import time

import cv2
import numpy as np
import pytest

from reenact.config import load_config
from reenact.stream.live import LiveHooks
from reenact.stream.session import run_session
from tests.helpers import decode_rgb

TITLE = "reenact preview"
SHOT_AT = 10  # the frame during which the window is read back


def read_xwd(data: bytes) -> np.ndarray:
    """An X window dump (XWD version 7, 32 bits a pixel, TrueColor) -> (H, W, 3) uint8 RGB."""
    fields = struct.unpack(">25I", data[:100])
    header_size, version, width, height = fields[0], fields[1], fields[4], fields[5]
    byte_order, bytes_per_line, colours = fields[7], fields[12], fields[19]
    assert version == 7 and bytes_per_line >= 4 * width, fields
    rows = np.frombuffer(
        data, np.uint8, count=bytes_per_line * height, offset=header_size + 12 * colours
    ).reshape(height, bytes_per_line)
    pixels = rows[:, : 4 * width].reshape(height, width, 4)
    bgr = pixels[:, :, :3] if byte_order == 0 else pixels[:, :, 3:0:-1]  # LSB first: B, G, R, X
    return np.ascontiguousarray(bgr[:, :, ::-1])


def grab_window(title: str, patience_s: float = 5.0) -> np.ndarray:
    """The image area of the OpenCV window `title`, as the X server shows it, RGB. Qt paints the
    last imshow when the event loop runs; on a loaded machine 200 ms of it may not be enough, so
    the window is read again (the run is held in the hook meanwhile, so it still shows the same
    frame) until it is painted or `patience_s` has passed."""
    deadline = time.monotonic() + patience_s
    while True:
        cv2.waitKey(200)  # let Qt paint the last imshow
        dump = subprocess.run(["xwd", "-name", title, "-silent"], capture_output=True, check=True)
        x, y, w, h = cv2.getWindowImageRect(title)
        image = read_xwd(dump.stdout)[y : y + h, x : x + w]
        if image.any() or time.monotonic() > deadline:
            return image


class ScreenshotHooks(LiveHooks):
    """The real live hooks, plus a read-back of the preview window at frame SHOT_AT."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self.count, self.output, self.screen, self.lines = 0, None, None, []

    def hook(self, output, frame, result) -> bool:
        keep = super().hook(output, frame, result)
        self.count += 1
        if self.count == SHOT_AT:
            self.output, self.screen = output.copy(), grab_window(TITLE)
            self.lines = self.overlay_lines()
        return keep


def overlay_mask(shape: tuple[int, int], lines: list[str]) -> np.ndarray:
    """Where the window sink draws its text lines on a (H, W) frame: True inside the text box."""
    mask = np.zeros(shape, np.uint8)
    height = shape[0]
    scale = max(0.4, height / 1080)
    step = int(28 * scale) + 4
    for row, line in enumerate(lines):
        cv2.putText(mask, line, (8, step * (row + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale, 1, 3)
    return mask.astype(bool)


@pytest.mark.skipif(shutil.which("xwd") is None, reason="no xwd: apt-get install x11-apps")
def test_preview_shows_the_overlay_and_the_output_never_does(virtual_display, clips_dir, tmp_path):
    output_path = tmp_path / "live.mp4"
    config = load_config(
        None,
        [],
        flags={
            "source.kind": "video",
            "source.path": str(clips_dir / "lp_d0.mp4"),
            "sink.kind": "file",
            "sink.path": str(output_path),
            "renderer.kind": "warp",
            "stream.max_frames": SHOT_AT + 4,
            "stream.show_stats": True,
            "panel.port": 0,
        },
    )
    hooks = ScreenshotHooks(config)
    try:
        run_session(config, on_frame=hooks, show_progress=False)
    finally:
        hooks.close()
    assert hooks.separate_preview and hooks.screen is not None and hooks.lines
    height, width = hooks.output.shape[:2]
    on_screen = cv2.resize(hooks.screen, (width, height), interpolation=cv2.INTER_AREA)
    text = overlay_mask((height, width), hooks.lines)
    far = ~cv2.dilate(text.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)

    def difference(image: np.ndarray, where: np.ndarray) -> float:
        return float(np.abs(image.astype(np.int16) - hooks.output.astype(np.int16))[where].mean())

    # On screen: the picture is the output (away from the text), and the text is drawn over it.
    assert difference(on_screen, far) < 12, difference(on_screen, far)
    assert difference(on_screen, text) > 40, difference(on_screen, text)
    # In the file: the same frame, and no text where the preview has it.
    written = min(decode_rgb(output_path), key=lambda f: difference(f, far))
    assert difference(written, far) < 6
    assert difference(written, text) < 6, "the overlay leaked into what the sink sends"
