"""The newest frame for browsers, as JPEG (WebP with alpha for an RGBA frame): the render loop
never waits for a viewer.

The loop calls `offer(image)` once per frame. Unless a viewer has asked for a frame since the
last one, that is one flag test; when one has, it is one copy of the frame and one wake-up of the
server's event loop. Encoding happens on the viewer's side (the server's worker thread), at most
once per offered frame however many viewers there are, and only as often as the viewers ask: the
browser's rate, not the loop's. A feed nobody watches costs nothing. A slow browser gets fewer
frames; the newest frame always wins.

Viewers wait for the next frame without polling (`next_frame`): the loop hands the frame over
with `call_soon_threadsafe`, so a waiting stream takes no CPU between frames.

An (H, W, 4) RGBA frame (a transparent background) is sent as WebP with its alpha: Chromium (and
so OBS's Browser Source) shows WebP and PNG parts of a multipart stream in an <img> with their
transparency, and libwebp at method 0 encodes about twice as fast as PNG at a tenth of the bytes
(its alpha stays lossless); a JPEG-plus-matte canvas would need per-pixel script in the page.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections import deque
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

from reenact.pipeline.background import flatten

Draw = Callable[[np.ndarray, object], np.ndarray]
DOT = np.array([(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)], dtype=np.intp)  # a plus, 5 pixels
GREEN = np.array((0, 255, 0), dtype=np.uint8)
JPEG, WEBP = "image/jpeg", "image/webp"


class FrameFeed:
    """One stream of frames: (H, W, 3) uint8 RGB in, JPEG bytes out; (H, W, 4) RGBA (straight
    alpha) in, WebP with alpha out.

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
        self._jpeg: tuple[int, bytes, int, str] = (0, b"", 0, JPEG)
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self.age_ms: deque = deque(maxlen=256)  # capture -> JPEG handed to the server
        self.encoded = 0  # images made so far (a viewer's rate, not the loop's)

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

    def image(self) -> tuple[int, bytes, str]:
        """(seq, bytes, media type) of the newest frame: JPEG, or WebP for an RGBA frame;
        encoded once per frame (a viewer's thread)."""
        with self._encode_lock:
            with self._lock:
                seq, frame, extra, capture_ns = self.seq, self._frame, self._extra, self._capture_ns
            if seq != self._jpeg[0] and frame is not None:
                data, media_type = self._encode(frame, extra)
                self._jpeg = (seq, data, capture_ns, media_type)
                self.encoded += 1
            seq, data, capture_ns, media_type = self._jpeg
        if capture_ns:
            self.age_ms.append((time.perf_counter_ns() - capture_ns) / 1e6)
        return seq, data, media_type

    def _encode(self, frame: np.ndarray, extra: object) -> tuple[bytes, str]:
        """(the image's bytes, their media type)."""
        frame, extra = fit(frame, extra, self.max_side)
        if self.draw is not None and extra is not None:
            frame = self.draw(frame, extra)
        if frame.shape[2] == 4:
            return self._webp_bytes(frame), WEBP
        return self._jpeg_bytes(frame), JPEG

    def _webp_bytes(self, frame: np.ndarray) -> bytes:
        """(H, W, 4) RGBA -> lossy WebP, lossless alpha; method 0 is libwebp's fastest."""
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, "WEBP", quality=self.quality, method=0)
        return buffer.getvalue()

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
    While the camera stalls (None), its last frame stays beside the output.
    """

    _camera: tuple[np.ndarray, object] | None = None

    def _keep(self, image: np.ndarray, extra: object) -> tuple[np.ndarray, object]:
        camera, landmarks = extra if extra is not None else (None, None)
        if camera is not None:  # kept for a stall, so that the preview keeps its width
            self._camera = (camera.copy(), landmarks)
        return image.copy(), self._camera or (None, None)

    def _encode(self, frame: np.ndarray, extra: object) -> tuple[bytes, str]:
        camera, landmarks = extra
        output, _ = fit(frame, None, self.max_side, height=True, exact=True)
        if output.shape[2] == 4:  # a transparent output, shown as editors show one
            output = over_checkerboard(output)
        if camera is None:
            return self._jpeg_bytes(output), JPEG
        side = output.shape[0]
        camera, landmarks = fit(camera, landmarks, side, height=True, exact=True)
        if landmarks is not None:
            camera = draw_landmarks(camera, landmarks)
        return self._jpeg_bytes(np.concatenate([output, camera], axis=1)), JPEG


def over_checkerboard(image: np.ndarray, square: int = 8) -> np.ndarray:
    """(H, W, 3) uint8: an (H, W, 4) straight-RGBA `image` over a grey checkerboard of `square`
    pixels, the usual picture of transparency."""
    h, w = image.shape[:2]
    y, x = np.ogrid[:h, :w]
    light = ((y // square + x // square) % 2).astype(bool)
    board = np.where(light[..., None], np.uint8(160), np.uint8(96)).astype(np.uint8)
    board = np.ascontiguousarray(np.broadcast_to(board, (h, w, 3)))
    return flatten(
        np.ascontiguousarray(image[:, :, :3]), np.ascontiguousarray(image[:, :, 3]), board
    )


def fit(
    image: np.ndarray, extra: object, side: int, *, height: bool = False, exact: bool = False
) -> tuple[np.ndarray, object]:
    """`image` (H, W, 3 or 4) scaled so that its longer side (its height when `height`) is at most
    `side` (exactly `side` when `exact`; 0 = as it is), and `extra` (points in its pixels) with
    it. Linear: 5-10x faster than INTER_AREA at these ratios, and fine for a preview."""
    h, w = image.shape[:2]
    current = h if height else max(h, w)
    if not side or current == side or (current < side and not exact):
        return image, extra
    s = side / current
    image = cv2.resize(
        image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_LINEAR
    )
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
