"""Capture on a thread with a one-frame buffer: the newest frame wins and no queue grows.

With `prepare`, the capture thread also does the first stage of the work (tracking) on each
frame it captures, so that stage of frame N+1 overlaps the rest of frame N on the main thread.
A source that is not live (a file, read as fast as the loop goes) is read by `AheadReader`
instead: one frame ahead, every frame in order, none dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from reenact.errors import ReenactError
from reenact.plugin_api import Frame, FrameSource

log = logging.getLogger(__name__)


class LatestFrameReader:
    """Reads a live source on a background thread; `read()` returns the newest unseen frame.

    Frames that arrive while the main thread is busy replace the buffered one and are counted in
    `dropped`. `read()` returns None once the source has ended and the last frame was taken. A
    source that fails (a camera unplugged) is re-opened every `reconnect_s` when it has `reopen()`;
    `status` then says so, for the overlay and the log.

    prepare: `prepare(image) -> value`, run on the capture thread on every captured frame before
    it is offered; `take()` returns the value with the frame. An exception in it ends the capture
    and is re-raised by `read()` / `take()`.
    """

    def __init__(
        self,
        source: FrameSource,
        *,
        reconnect_s: float = 1.0,
        prepare: Callable[[Any], Any] | None = None,
    ) -> None:
        self.source = source
        self.prepare = prepare
        self._prepared: Any = None
        self.reconnect_s = reconnect_s
        self.dropped = 0
        self.captured = 0
        self.status = ""
        self._frame: Frame | None = None
        self._ended = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reenact-capture", daemon=True)

    def start(self) -> LatestFrameReader:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            prepared = None
            try:
                frame = self.source.read()
                if frame is not None and self.prepare is not None:
                    prepared = self.prepare(frame.image)
            except Exception as exc:  # a plugin's failure ends the capture; read() re-raises it
                self._finish(exc)
                return
            if frame is None:
                if self._reconnect():
                    continue
                self._finish(None)
                return
            with self._cond:
                if self._frame is not None:
                    self.dropped += 1
                self._frame, self._prepared = frame, prepared
                self.captured += 1
                self._cond.notify_all()

    def _reconnect(self) -> bool:
        """A live source that stopped (camera unplugged): retry `reopen()` until it works.

        Returns False for sources that simply ended (files) or when the reader is stopped.
        """
        if not (self.source.can_reopen and self.source.live):
            return False
        reopen = self.source.reopen
        device = self.source.label
        self.status = f"camera {device} lost; retrying every {self.reconnect_s:g} s"
        log.warning("%s", self.status)
        while not self._stop.wait(self.reconnect_s):
            try:
                if reopen():
                    log.warning("camera %s is back", device)
                    self.status = ""
                    return True
            except ReenactError as exc:
                log.debug("reopen failed: %s", exc)
        return False

    def _finish(self, error: BaseException | None) -> None:
        with self._cond:
            self._error = error
            self._ended = True
            self._cond.notify_all()

    def read(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not yet returned; blocks for one. None at the end of the stream.

        When `timeout` passes with no frame (a stalled camera), returns None while `ended` is False.
        """
        return self.take(timeout)[0]

    def take(self, timeout: float | None = None) -> tuple[Frame | None, Any]:
        """`read()`, with the value `prepare` gave for that frame (None without `prepare`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._frame is None and not self._ended:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None, None
                self._cond.wait(remaining)
            frame, self._frame = self._frame, None
            prepared, self._prepared = self._prepared, None
            if frame is None and self._error is not None:
                error, self._error = self._error, None
                raise error
            return frame, prepared

    def wait_until(self, ready: Callable[[], bool], timeout: float | None = None) -> None:
        """Block until a frame is buffered, the stream has ended, `ready()` is true (checked
        whenever `poke` is called) or `timeout` s pass."""
        with self._cond:
            self._cond.wait_for(lambda: self._frame is not None or self._ended or ready(), timeout)

    def poke(self) -> None:
        """Wake a `wait_until` (any thread): the condition it waits for may have changed."""
        with self._cond:
            self._cond.notify_all()

    @property
    def ended(self) -> bool:
        with self._cond:
            return self._ended and self._frame is None

    def stop(self) -> None:
        """Stop capturing; a frame still buffered (never processed) counts as dropped, so that
        captured == taken + dropped exactly."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
                self._frame, self._prepared = None, None


class AheadReader:
    """Reads a source that is not live one frame ahead on a thread: while the main thread works
    on frame N, frame N+1 is decoded and `prepare`d (tracked). Every frame comes, in order, and
    none is dropped (a file is not a camera); at most one frame is read past the last one taken.

    prepare: `prepare(image) -> value`, run on the reading thread; `take()` returns the value
    with the frame. An exception in `read()` or `prepare` is re-raised by `take()`.
    """

    def __init__(self, source: FrameSource, prepare: Callable[[Any], Any]) -> None:
        self.source = source
        self.prepare = prepare
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reenact-read-ahead")
        self._next: Future | None = None
        self._ended = False

    def _read(self) -> tuple[Frame | None, Any]:
        frame = self.source.read()
        return frame, (self.prepare(frame.image) if frame is not None else None)

    def take(self) -> tuple[Frame | None, Any]:
        """The next frame and its prepared value; (None, None) once the source has ended."""
        if self._ended:
            return None, None
        if self._next is None:
            self._next = self._pool.submit(self._read)
        try:
            frame, prepared = self._next.result()
        except BaseException:
            self._next, self._ended = None, True
            raise
        self._next = self._pool.submit(self._read) if frame is not None else None
        self._ended = frame is None
        return frame, prepared

    def stop(self) -> None:
        """Wait for a read in flight (it cannot be interrupted) and end the thread."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._next = None
