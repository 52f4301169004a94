"""The live loop: capture thread -> per-frame work on the main thread -> paced sink.

A live source (a camera) is read on a thread with a one-frame buffer, so a slow frame drops the
stale ones instead of building a queue. A file source is read in order, every frame processed. A
real-time sink (virtual camera, stream, window) is paced to the source's fps. Ctrl-C ends the loop
and the sink is closed cleanly, so a file stays playable.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from reenact.plugin_api import Frame, FrameSink, FrameSource
from reenact.stream.capture import LatestFrameReader
from reenact.stream.timing import StageTimer

REALTIME_SINKS = {"virtualcam", "stream", "window"}


@dataclass
class LoopResult:
    """What happened in one run of the loop."""

    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    interrupted: bool = False
    latency_ms: deque = field(default_factory=lambda: deque(maxlen=8192))


class Pacer:
    """Sleeps so that frames leave at `fps`, without drifting; skips ahead when late."""

    def __init__(self, fps: float) -> None:
        self.interval_ns = int(1e9 / fps) if fps > 0 else 0
        self.next_ns = 0

    def wait(self) -> None:
        if not self.interval_ns:
            return
        now = time.perf_counter_ns()
        if self.next_ns == 0 or now - self.next_ns > self.interval_ns:
            self.next_ns = now
        elif now < self.next_ns:
            time.sleep((self.next_ns - now) / 1e9)
        self.next_ns += self.interval_ns


def is_realtime(sink: FrameSink) -> bool:
    return bool(getattr(sink, "realtime", type(sink).name in REALTIME_SINKS))


FrameHook = Callable[[np.ndarray, Frame], "bool | None"]


def run_loop(
    *,
    source: FrameSource,
    sink: FrameSink,
    process: Callable[[np.ndarray, float], np.ndarray],
    timer: StageTimer,
    max_frames: int = 0,
    duration_s: float = 0.0,
    reconnect_s: float = 1.0,
    on_frame: FrameHook | None = None,
    progress=None,
) -> LoopResult:
    """Run until the source ends, `max_frames`/`duration_s` are reached, a hook returns False,
    or Ctrl-C. `process(image, t_s)` is the per-frame work; `on_frame(output, frame)` runs after
    each frame is written (hotkeys, overlays). The caller owns opening and closing source/sink.
    """
    result = LoopResult()
    reader = LatestFrameReader(source, reconnect_s=reconnect_s) if source.live else None
    pacer = Pacer(source.fps) if is_realtime(sink) and not source.live else None
    start_ns = time.perf_counter_ns()
    try:
        if reader is not None:
            reader.start()
        while True:
            with timer.stage("capture"):
                frame = reader.read() if reader is not None else source.read()
            if frame is None:
                break
            result.frames_in += 1
            t_s = (frame.timestamp_ns - start_ns) / 1e9 if source.live else frame.pts_s
            output = process(frame.image, t_s)
            if pacer is not None:
                pacer.wait()
            with timer.stage("sink"):
                sink.write(output)
            result.frames_out += 1
            result.latency_ms.append((time.perf_counter_ns() - frame.timestamp_ns) / 1e6)
            timer.frame_done()
            if progress is not None:
                progress.update(1)
            if on_frame is not None and on_frame(output, frame) is False:
                break
            if max_frames and result.frames_out >= max_frames:
                break
            if duration_s and (time.perf_counter_ns() - start_ns) / 1e9 >= duration_s:
                break
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        if reader is not None:
            reader.stop()
            result.dropped = reader.dropped
    return result
