"""The newest frame for browsers, as JPEG: the render loop never waits for a viewer.

The loop calls `offer(image)` once per frame. Unless a viewer has asked for a frame since the
last one, that is one flag test; when one has, it is one copy of the frame. Encoding happens on
the viewer's side (the server's worker thread), at most once per offered frame however many
viewers there are, and only as often as the viewers ask: the browser's rate, not the loop's.
A slow browser gets fewer frames; the newest frame always wins.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

import cv2
import numpy as np

Draw = Callable[[np.ndarray, object], np.ndarray]


class FrameFeed:
    """One stream of frames: (H, W, 3) uint8 RGB in, JPEG bytes out.

    max_side: frames are scaled down to this longer side before encoding (0 = as they are).
    draw(image_bgr, extra) -> image: an overlay drawn on the viewer's thread (e.g. landmarks).
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
        self.age_ms: deque = deque(maxlen=256)  # capture -> JPEG handed to the server

    def want(self) -> None:
        """A viewer asks for the next frame (any thread)."""
        self._wanted = True

    def offer(self, image: np.ndarray, *, capture_ns: int = 0, extra: object = None) -> None:
        """The render loop's newest frame; kept (copied) only when a viewer asked for one."""
        if not self._wanted:
            return
        frame = image.copy()
        with self._lock:
            self._frame, self._extra, self._capture_ns = frame, extra, capture_ns
            self.seq += 1
            self._wanted = False

    def jpeg(self) -> tuple[int, bytes]:
        """(seq, JPEG bytes) of the newest frame; encoded once per frame (a viewer's thread)."""
        with self._encode_lock:
            with self._lock:
                seq, frame, extra, capture_ns = self.seq, self._frame, self._extra, self._capture_ns
            if seq != self._jpeg[0] and frame is not None:
                self._jpeg = (seq, self._encode(frame, extra), capture_ns)
            seq, data, capture_ns = self._jpeg
        if capture_ns:
            self.age_ms.append((time.perf_counter_ns() - capture_ns) / 1e6)
        return seq, data

    def _encode(self, frame: np.ndarray, extra: object) -> bytes:
        h, w = frame.shape[:2]
        if self.max_side and max(h, w) > self.max_side:
            s = self.max_side / max(h, w)
            frame = cv2.resize(frame, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
            extra = _scaled(extra, s)
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        if self.draw is not None and extra is not None:
            bgr = self.draw(bgr, extra)
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        return data.tobytes() if ok else b""

    def median_age_ms(self) -> float | None:
        return float(np.median(self.age_ms)) if self.age_ms else None


def _scaled(extra: object, s: float) -> object:
    return extra * np.float32(s) if isinstance(extra, np.ndarray) else extra


def draw_landmarks(bgr: np.ndarray, landmarks: object) -> np.ndarray:
    """Green dots at landmarks (N, 2+) in image pixels."""
    points = np.asarray(landmarks)[:, :2].round().astype(np.int32)
    h, w = bgr.shape[:2]
    inside = (points[:, 0] >= 0) & (points[:, 0] < w) & (points[:, 1] >= 0) & (points[:, 1] < h)
    for x, y in points[inside]:
        cv2.circle(bgr, (int(x), int(y)), 1, (0, 255, 0), -1, cv2.LINE_AA)
    return bgr
