"""The newest frame for browsers, as JPEG: the render loop never waits for a viewer.

The loop calls `offer(image)` once per frame. Unless a viewer has asked for a frame since the
last one, that is one flag test; when one has, it is one copy of the frame and one wake-up of the
server's event loop. Encoding happens on the viewer's side (the server's worker thread), at most
once per offered frame however many viewers there are, and only as often as the viewers ask: the
browser's rate, not the loop's. A feed nobody watches costs nothing. A slow browser gets fewer
frames; the newest frame always wins.

Viewers wait for the next frame without polling (`next_frame`): the loop hands the frame over
with `call_soon_threadsafe`, so a waiting stream takes no CPU between frames.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from typing import Callable

import cv2
import numpy as np

Draw = Callable[[np.ndarray, object], np.ndarray]
DOT = np.array([(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)], dtype=np.intp)  # a plus, 5 pixels
GREEN = np.array((0, 255, 0), dtype=np.uint8)


class FrameFeed:
    """One stream of frames: (H, W, 3) uint8 RGB in, JPEG bytes out.

    max_side: frames are scaled down to this longer side before encoding (0 = as they are).
    draw(image_rgb, extra) -> image: an overlay drawn on the viewer's thread after the scaling
    (e.g. landmarks, `extra` in the scaled image's pixels).
    """

    def __init__(self, *, quality: int = 80, max_side: int = 0, draw: Draw | None = None) -> None:
        self.quality = quality
        self.max_side = max_side
        self.draw = draw
        self.closed = False
        self._wanted = False
        self._lock = threading.Lock()
        self._encode_lock = threading.Lock()
        self._frame: np.ndarray | None = None
        self._extra: object = None
        self._capture_ns = 0
        self.seq = 0  # number of frames taken so far
        self._jpeg: tuple[int, bytes, int] = (0, b"", 0)
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self.age_ms: deque = deque(maxlen=256)  # capture -> JPEG handed to the server
        self.encoded = 0  # JPEGs made so far (a viewer's rate, not the loop's)

    def want(self) -> None:
        """A viewer asks for the next frame (any thread)."""
        self._wanted = True

    def offer(self, image: np.ndarray, *, capture_ns: int = 0, extra: object = None) -> None:
        """The render loop's newest frame; kept (copied) only when a viewer asked for one."""
        if not self._wanted:
            return
        frame, extra = self._keep(image, extra)
        with self._lock:
            self._frame, self._extra, self._capture_ns = frame, extra, capture_ns
            self.seq += 1
            self._wanted = False
            waiters, self._waiters = self._waiters, []
        _wake(waiters)

    def _keep(self, image: np.ndarray, extra: object) -> tuple[np.ndarray, object]:
        """What `offer` stores: its own copy of the frame (the loop reuses its buffers)."""
        return image.copy(), extra

    def close(self) -> None:
        """No more frames: waiting viewers return."""
        with self._lock:
            self.closed = True
            waiters, self._waiters = self._waiters, []
        _wake(waiters)

    async def next_frame(self, last: int) -> bool:
        """Ask for a frame and wait until one newer than seq `last` is taken (False: closed)."""
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                if self.closed:
                    return False
                if self.seq != last:
                    return True
                future = loop.create_future()
                self._waiters.append((loop, future))
                self._wanted = True
            await future

    def jpeg(self) -> tuple[int, bytes]:
        """(seq, JPEG bytes) of the newest frame; encoded once per frame (a viewer's thread)."""
        with self._encode_lock:
            with self._lock:
                seq, frame, extra, capture_ns = self.seq, self._frame, self._extra, self._capture_ns
            if seq != self._jpeg[0] and frame is not None:
                self._jpeg = (seq, self._encode(frame, extra), capture_ns)
                self.encoded += 1
            seq, data, capture_ns = self._jpeg
        if capture_ns:
            self.age_ms.append((time.perf_counter_ns() - capture_ns) / 1e6)
        return seq, data

    def _encode(self, frame: np.ndarray, extra: object) -> bytes:
        frame, extra = fit(frame, extra, self.max_side)
        if self.draw is not None and extra is not None:
            frame = self.draw(frame, extra)
        return self._jpeg_bytes(frame)

    def _jpeg_bytes(self, frame: np.ndarray) -> bytes:
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        return data.tobytes() if ok else b""

    def median_age_ms(self) -> float | None:
        return float(np.median(self.age_ms)) if self.age_ms else None


class SideBySideFeed(FrameFeed):
    """The panel's previews as one stream: the output and, to its right, the camera with its
    landmarks, both scaled to `max_side` pixels high, in one JPEG (the page shows it at that
    height: nothing for the browser to scale). A browser decodes and paints one
    image per tick instead of two, which is most of what previews cost it (headless Chromium
    spends ~8-10 ms per image shown, whatever its size).

    offer(output, extra=(camera_image or None, landmarks (N, 2+) in camera pixels or None)).
    """

    def _keep(self, image: np.ndarray, extra: object) -> tuple[np.ndarray, object]:
        camera, landmarks = extra if extra is not None else (None, None)
        return image.copy(), (None if camera is None else camera.copy(), landmarks)

    def _encode(self, frame: np.ndarray, extra: object) -> bytes:
        camera, landmarks = extra
        output, _ = fit(frame, None, self.max_side, height=True, exact=True)
        if camera is None:
            return self._jpeg_bytes(output)
        side = output.shape[0]
        camera, landmarks = fit(camera, landmarks, side, height=True, exact=True)
        if landmarks is not None:
            camera = draw_landmarks(camera, landmarks)
        return self._jpeg_bytes(np.concatenate([output, camera], axis=1))


def fit(image: np.ndarray, extra: object, side: int, *, height: bool = False,
        exact: bool = False) -> tuple[np.ndarray, object]:
    """`image` (H, W, 3) scaled so that its longer side (its height when `height`) is at most
    `side` (exactly `side` when `exact`; 0 = as it is), and `extra` (points in its pixels) with
    it. Linear: 5-10x faster than INTER_AREA at these ratios, and fine for a preview."""
    h, w = image.shape[:2]
    current = h if height else max(h, w)
    if not side or current == side or (current < side and not exact):
        return image, extra
    s = side / current
    image = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))),
                       interpolation=cv2.INTER_LINEAR)
    return image, _scaled(extra, s)


def _wake(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]]) -> None:
    """Resolve the waiting viewers' futures on their event loops (from any thread)."""
    for loop, future in waiters:
        try:
            loop.call_soon_threadsafe(_resolve, future)
        except RuntimeError:  # that loop has closed: its viewer is gone
            pass


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _scaled(extra: object, s: float) -> object:
    return extra * np.float32(s) if isinstance(extra, np.ndarray) else extra


def draw_landmarks(image: np.ndarray, landmarks: object) -> np.ndarray:
    """Green dots (a 5-pixel plus) at landmarks (N, 2+) in image pixels, drawn in place into
    `image` (H, W, 3) uint8, RGB or BGR alike; vectorised (no per-point Python)."""
    points = np.asarray(landmarks)[:, :2].round().astype(np.intp)
    h, w = image.shape[:2]
    dots = (points[:, None, :] + DOT[None]).reshape(-1, 2)
    inside = (dots[:, 0] >= 0) & (dots[:, 0] < w) & (dots[:, 1] >= 0) & (dots[:, 1] < h)
    dots = dots[inside]
    image[dots[:, 1], dots[:, 0]] = GREEN
    return image
