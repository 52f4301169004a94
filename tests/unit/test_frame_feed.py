"""The panel's frame feeds: nothing taken unless a viewer waits, viewers woken without polling,
the previews as one side-by-side image with the landmarks on the camera's side."""

from __future__ import annotations

import asyncio
import threading

import cv2
import numpy as np

from reenact.stream.frame_feed import FrameFeed, SideBySideFeed, draw_landmarks, fit


def _portrait(portraits_dir, size: tuple[int, int]) -> np.ndarray:
    path = sorted(portraits_dir.glob("*.jpg"))[0]
    return cv2.cvtColor(cv2.resize(cv2.imread(str(path)), size), cv2.COLOR_BGR2RGB)


def _decode(data: bytes) -> np.ndarray:
    return cv2.cvtColor(
        cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
    )


def _green(image: np.ndarray) -> np.ndarray:
    return (image[..., 1] > 200) & (image[..., 0] < 60) & (image[..., 2] < 60)


def test_a_feed_nobody_watches_takes_nothing(portraits_dir):
    feed = FrameFeed()
    image = _portrait(portraits_dir, (64, 48))
    for _ in range(3):
        feed.offer(image)
    assert feed.seq == 0 and feed.image()[:2] == (0, b"") and feed.encoded == 0
    feed.want()
    feed.offer(image)
    feed.offer(image)  # the viewer asked once: one frame taken
    seq, data, _ = feed.image()
    assert seq == 1 and feed.encoded == 1 and _decode(data).shape == (48, 64, 3)
    image[:] = 0  # the loop reuses its buffer: the feed kept its own copy
    assert feed.image()[:2] == (1, data) and feed.encoded == 1  # encoded once per frame


def test_a_waiting_viewer_is_woken_by_the_loop_and_by_close(portraits_dir):
    feed = FrameFeed()
    image = _portrait(portraits_dir, (32, 32))

    async def viewer() -> list[bool]:
        got = [await feed.next_frame(0)]  # the loop's thread offers while this waits
        got.append(await feed.next_frame(feed.seq))  # ... and then closes the feed
        return got

    async def main() -> list[bool]:
        task = asyncio.ensure_future(viewer())
        await asyncio.sleep(0.05)
        assert not task.done() and feed._wanted  # waiting, and asking for a frame
        await asyncio.to_thread(feed.offer, image)
        await asyncio.sleep(0.05)
        threading.Thread(target=feed.close).start()
        return await asyncio.wait_for(task, 10)

    assert asyncio.run(main()) == [True, False]
    assert feed.seq == 1


def test_previews_side_by_side_at_the_preview_height(portraits_dir):
    output = _portrait(portraits_dir, (400, 400))
    camera = _portrait(portraits_dir, (640, 360))
    # a dense patch of points (a face mesh is dense) around (320, 180), and one off the image
    grid = np.stack(np.meshgrid(np.arange(12), np.arange(12)), -1).reshape(-1, 2)
    landmarks = np.concatenate([[290.0, 150.0] + 5 * grid, [[-5.0, 900.0]]]).astype(np.float32)
    feed = SideBySideFeed(quality=90, max_side=120)
    feed.want()
    feed.offer(output, extra=(camera, landmarks))
    both = _decode(feed.image()[1])
    assert both.shape == (120, 120 + 213, 3)  # 400x400 -> 120x120, 640x360 -> 213x120
    assert not _green(both[:, :118]).any()  # the output is left as it is
    dots = _green(both[:, 120:])
    assert dots.sum() > 50
    ys, xs = np.nonzero(dots)  # around (320, 180) / 3 in the camera's half
    assert abs(np.median(xs) - 107) < 8 and abs(np.median(ys) - 60) < 8

    alone = SideBySideFeed(max_side=120)
    alone.want()
    alone.offer(output, extra=(None, None))
    assert _decode(alone.image()[1]).shape == (120, 120, 3)

    # a stalled camera (no frame) keeps its last frame beside the output: the width holds
    feed.want()
    feed.offer(output[::-1], extra=(None, None))
    stalled = _decode(feed.image()[1])
    assert stalled.shape == both.shape
    assert np.abs(stalled[:, 120:].astype(int) - both[:, 120:]).mean() < 3  # the same camera
    assert np.abs(stalled[:, :120].astype(int) - both[:, :120]).mean() > 10  # the new output


def test_fit_scales_points_with_the_image():
    image = np.zeros((300, 600, 3), np.uint8)
    scaled, points = fit(image, np.array([[600.0, 300.0]], np.float32), 150)
    assert scaled.shape == (75, 150, 3) and np.allclose(points, [[150, 75]])
    same, _ = fit(image, None, 1000)  # never scaled up unless asked
    assert same is image
    up, _ = fit(image, None, 600, height=True, exact=True)
    assert up.shape == (600, 1200, 3)


def test_landmark_dots_land_where_the_points_are():
    image = np.zeros((20, 30, 3), np.uint8)
    draw_landmarks(image, np.array([[5.2, 4.8], [29.0, 19.0], [40.0, -3.0]]))
    assert (image[5, 5] == (0, 255, 0)).all() and (image[4, 5] == (0, 255, 0)).all()
    assert (image[19, 29] == (0, 255, 0)).all()  # at the edge: the part inside is drawn
    assert _green(image).sum() == 5 + 3
