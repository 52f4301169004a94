"""Rendering one frame ahead: the network of frame N runs on a worker thread while the main
thread tracks, fuses and prepares frame N+1, then composites frame N.

On a 2-core CPU the serial loop leaves a core idle most of the frame: tracking, fusion, the
warp and compositing are single-threaded Python/OpenCV work (~16 ms at 256), and the U-net
(~11 ms on two ONNX Runtime threads, ~17 ms on one) runs only after them. Split in two, each core
takes one half, so frames leave at the pace of the slower half instead of the sum of both.

    job = reenactor.begin(image, t_s, tracked)   # main thread: track, fuse, stage the network
    previous.wait()                              # the worker is free again
    job.launch(worker)                           # the network of this frame starts there
    result = reenactor.finish(previous)          # main thread: composite the frame before

A job whose frame has nothing to render on the worker (paused, no face, calibrating, or a
renderer that does not split) is not `in_flight`: it can be finished as soon as `begin` returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reenact.engine.device import cpu_threads


def splits(renderer) -> bool:
    """Whether `renderer` can stage its network call for another thread (`stage(fused)`)."""
    return callable(getattr(renderer, "stage", None))


def render_ahead_on(setting: str, renderer) -> bool:
    """`stream.render_ahead` (checked at config load) resolved for `renderer`: "on" / "off", or
    "auto": on when the renderer splits and this process may use two cores or more."""
    if setting == "off" or not splits(renderer):
        return False
    return setting == "on" or cpu_threads(0) >= 2


def track_ahead_on(setting: str | bool, renderer) -> bool:
    """`stream.track_ahead` resolved for `renderer`: True / False as given, or "auto": on for a
    renderer that does not split (its frame is rendered in turn, so a core is free for the next
    frame's tracking) when this process may use two cores or more."""
    if isinstance(setting, bool):
        return setting
    return not splits(renderer) and cpu_threads(0) >= 2


class RenderWorker:
    """One thread that runs staged network calls, one at a time, in the order given."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reenact-render")

    def submit(self, run: Callable[[], np.ndarray]) -> Future:
        """run() -> (S,S,3) uint8 crop, on the worker; the future gives (crop, ms)."""
        return self._pool.submit(_timed, run)

    def close(self) -> None:
        """Waits for a call in flight (a network call cannot be interrupted), then ends."""
        self._pool.shutdown(wait=True)


def _timed(run: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    start = time.perf_counter_ns()
    crop = run()
    return crop, (time.perf_counter_ns() - start) / 1e6


@dataclass
class FrameJob:
    """One frame between `Reenactor.begin` and `Reenactor.finish`.

    result: the frame's FrameResult once known (at once when nothing is rendered: paused, no
    face, calibrating); run: the staged network call for the worker (None: the crop was rendered
    in `begin`, in `crop`); finish: (crop, render_ms) -> FrameResult, the rest of the frame
    (compositing), on the thread that calls `complete`.
    """

    t_s: float
    result: Any = None
    run: Callable[[], np.ndarray] | None = None
    crop: np.ndarray | None = None
    finish: Callable[[np.ndarray, float], Any] | None = None
    network_ms: float = 0.0  # the worker's time for the network, once it has run
    image_landmarks: np.ndarray | None = None  # (478,3) tracked in the frame's pixels, or None
    _future: Future | None = field(default=None, repr=False)
    _launched_ns: int = field(default=0, repr=False)

    @property
    def in_flight(self) -> bool:
        """Part of this frame runs, or will run, on the worker."""
        return self.run is not None and self.result is None

    def launch(self, worker: RenderWorker | None) -> None:
        """Start the network call on `worker` (None: it runs in `complete`)."""
        if self.run is not None and self._future is None and worker is not None:
            self._launched_ns = time.perf_counter_ns()
            self._future = worker.submit(self.run)

    def running_ms(self) -> float:
        """How long ago the network call was launched (0 when it was not)."""
        return (time.perf_counter_ns() - self._launched_ns) / 1e6 if self._launched_ns else 0.0

    def when_done(self, callback: Callable[[], None]) -> None:
        """callback() (on any thread) once the launched network call has finished."""
        if self._future is None:
            callback()
        else:
            self._future.add_done_callback(lambda _future: callback())

    @property
    def done(self) -> bool:
        """Nothing is left running on the worker for this frame."""
        return self._future is None or self._future.done()

    def wait(self) -> None:
        """Block until the launched network call has finished (its error is raised by
        `complete`)."""
        if self._future is not None:
            self._future.exception()

    def complete(self):
        """The frame's FrameResult; composites the rendered crop on the calling thread."""
        if self.result is None:
            if self.run is None:
                crop, ms = self.crop, 0.0
            elif self._future is None:
                crop, ms = _timed(self.run)
            else:
                crop, ms = self._future.result()
            self.network_ms = ms
            self.result = self.finish(crop, ms)
            self.run = self.crop = self.finish = self._future = None
        return self.result
