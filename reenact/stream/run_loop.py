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
from reenact.pipeline.timing import StageTimer

REALTIME_SINKS = {"virtualcam", "stream", "window"}


@dataclass
class LoopResult:
    """What happened in one run of the loop."""

    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    interrupted: bool = False
    stalls: int = 0  # frames filled in while a live source delivered nothing
    capture_status: str = ""  # e.g. "camera 0 lost; retrying every 1 s"
    captured: int = 0  # frames the capture thread took from a live source
    source_produced: int = 0  # frames the source returned
    source_dropped: int = 0  # frames a real-time source dropped as late before returning them
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


FrameHook = Callable[[np.ndarray, "Frame | None", LoopResult], "bool | None"]


def run_loop(
    *,
    source: FrameSource,
    sink: FrameSink,
    process: Callable[..., np.ndarray],
    timer: StageTimer,
    max_frames: int = 0,
    duration_s: float = 0.0,
    reconnect_s: float = 1.0,
    on_frame: FrameHook | None = None,
    on_stall: Callable[[float], np.ndarray] | None = None,
    progress=None,
    prepare: Callable[[np.ndarray], object] | None = None,
) -> LoopResult:
    """Run until the source ends, `max_frames`/`duration_s` are reached, a hook returns False,
    or Ctrl-C. `process(image, t_s)` is the per-frame work; `on_frame(output, frame, result)`
    runs after each frame is written (hotkeys, overlays). When a live source delivers nothing for
    three frame intervals (a camera unplugged), `on_stall(t_s)` gives a frame to send instead
    (frame is None in the hook), so a virtual camera never freezes. The caller owns opening and
    closing source and sink.

    prepare: for live sources, `prepare(image)` runs on the capture thread (the next frame's
    tracking overlaps this frame's rendering) and its value reaches `process(image, t_s,
    prepared)`; without it, or for files, `process(image, t_s)` does all the work.
    """
    result = LoopResult()
    reader = (LatestFrameReader(source, reconnect_s=reconnect_s, prepare=prepare)
              if source.live else None)
    prepared = None
    pacer = Pacer(source.fps) if is_realtime(sink) and not source.live else None
    start_ns = time.perf_counter_ns()
    try:
        if reader is not None:
            reader.start()
        stall_s = 3.0 / (source.fps or 30.0)
        while True:
            with timer.stage("capture"):
                if reader is not None:
                    frame, prepared = reader.take(timeout=stall_s if on_stall else None)
                    result.capture_status = reader.status
                else:
                    frame = source.read()
            if frame is None and (reader is None or reader.ended or on_stall is None):
                break
            now_s = (time.perf_counter_ns() - start_ns) / 1e9
            if frame is None:
                result.stalls += 1
                output = on_stall(now_s)
            else:
                result.frames_in += 1
                t_s = (frame.timestamp_ns - start_ns) / 1e9 if source.live else frame.pts_s
                output = (process(frame.image, t_s, prepared) if prepared is not None
                          else process(frame.image, t_s))
            if pacer is not None:
                pacer.wait()
            with timer.stage("sink"):
                sink.write(output)
            result.frames_out += 1
            if frame is not None:
                result.latency_ms.append((time.perf_counter_ns() - frame.timestamp_ns) / 1e6)
            timer.frame_done()
            if progress is not None:
                progress.update(1)
            if on_frame is not None and on_frame(output, frame, result) is False:
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
            result.captured = reader.captured
        result.source_produced = getattr(source, "frames_produced", result.frames_in)
        result.source_dropped = getattr(source, "dropped", 0)
    return result
