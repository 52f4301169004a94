"""The output feed carries alpha: an RGBA frame (a transparent background) goes out as WebP with
its matte, scaled with it; an RGB frame stays JPEG."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from reenact.stream.frame_feed import FrameFeed, SideBySideFeed


def _rgba(portraits_dir, size: tuple[int, int]) -> np.ndarray:
    """A real face (H, W, 4) RGBA: opaque on a centred disc, clear around it."""
    path = sorted(portraits_dir.glob("*.jpg"))[0]
    rgb = cv2.cvtColor(cv2.resize(cv2.imread(str(path)), size), cv2.COLOR_BGR2RGB)
    matte = np.zeros(rgb.shape[:2], np.uint8)
    cv2.circle(matte, (size[0] // 2, size[1] // 2), min(size) // 3, 255, -1)
    return np.dstack([rgb, matte])


def _taken(feed: FrameFeed, image: np.ndarray) -> tuple[bytes, str]:
    feed.want()
    feed.offer(image)
    _, data, media_type = feed.image()
    return data, media_type


def test_an_rgba_frame_goes_out_as_webp_with_its_alpha(portraits_dir):
    image = _rgba(portraits_dir, (160, 120))
    data, media_type = _taken(FrameFeed(quality=85), image)
    assert media_type == "image/webp" and data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    back = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
    assert back.shape == (120, 160, 4)
    assert np.array_equal(back[..., 3], image[..., 3])  # WebP's alpha is lossless
    inside = image[..., 3] == 255
    assert np.abs(back[..., :3].astype(int) - image[..., :3])[inside].mean() < 6.0


def test_a_scaled_feed_scales_the_alpha_too(portraits_dir):
    image = _rgba(portraits_dir, (320, 240))
    data, _ = _taken(FrameFeed(max_side=160), image)
    back = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
    assert back.shape == (120, 160, 4)
    assert back[60, 80, 3] == 255 and back[2, 2, 3] == 0


def test_an_rgb_frame_stays_jpeg(portraits_dir):
    image = np.ascontiguousarray(_rgba(portraits_dir, (64, 48))[..., :3])
    feed = FrameFeed()
    data, media_type = _taken(feed, image)
    assert media_type == "image/jpeg" and data[:2] == b"\xff\xd8"
    assert feed.image() == (1, data, "image/jpeg")


def test_the_panel_previews_show_a_transparent_output_over_a_checkerboard(portraits_dir):
    """The side-by-side previews (output beside the camera) are one JPEG: a transparent output
    is drawn over a checkerboard there, not refused for its fourth channel."""
    feed = SideBySideFeed(quality=90, max_side=120)
    output = _rgba(portraits_dir, (160, 120))
    camera = np.full((240, 320, 3), 200, np.uint8)
    feed.want()
    feed.offer(output, extra=(camera, None))
    _, data, media_type = feed.image()
    shown = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    assert media_type == "image/jpeg" and shown.shape == (120, 160 + 160, 3)
    corner = shown[:16, :16]  # clear in the output: the board's two greys, not its colours
    assert corner.min() < 120 < corner.max() and np.ptp(corner, axis=2).max() < 24
