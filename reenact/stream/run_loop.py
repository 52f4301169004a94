"""The live loop: capture thread -> per-frame work on the main thread -> paced sink.

A live source (a camera) is read on a thread with a one-frame buffer, so a slow frame drops the
stale ones instead of building a queue. A file source is read in order, every frame processed. A
real-time sink (one that declares `realtime`: virtual camera, stream, window) is paced to the
source's fps. Ctrl-C ends the loop
and the sink is closed cleanly, so a file stays playable.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from reenact.pipeline.reenactor import FrameResult
from reenact.pipeline.timing import StageTimer
from reenact.plugin_api import Frame, FrameSink, FrameSource
from reenact.stream.capture import LatestFrameReader


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


FrameHook = Callable[[np.ndarray, "Frame | None", LoopResult], "bool | None"]


@dataclass
class LoopParts:
    """What one run of the loop works with.

    process(image, t_s, prepared) -> FrameResult: the per-frame work (`Reenactor.process`).
    on_frame(output, frame, result): runs after each frame is written (hotkeys, overlays);
    returning False ends the loop. on_stall(t_s) -> frame: what to send while a live source
    delivers nothing. prepare(image): runs on the capture thread of a live source (the next
    frame's tracking overlaps this frame's rendering); its value reaches `process`.
    """

    source: FrameSource
    sink: FrameSink
    process: Callable[[np.ndarray, float, object], FrameResult]
    timer: StageTimer
    on_frame: FrameHook | None = None
    on_stall: Callable[[float], np.ndarray] | None = None
    progress: object = None
    prepare: Callable[[np.ndarray], object] | None = None


def run_loop(parts: LoopParts, *, max_frames: int = 0, duration_s: float = 0.0,
             reconnect_s: float = 1.0) -> LoopResult:
    """Run until the source ends, `max_frames`/`duration_s` are reached, a hook returns False,
    or Ctrl-C. When a live source delivers nothing for three frame intervals (a camera
    unplugged), `on_stall` gives the frame to send (the hook's frame is None), so a virtual
    camera never freezes. The caller owns opening and closing source and sink."""
    source = parts.source
    result = LoopResult()
    reader = (LatestFrameReader(source, reconnect_s=reconnect_s, prepare=parts.prepare)
              if source.live else None)
    pacer = Pacer(source.fps) if parts.sink.realtime and not source.live else None
    start_ns = time.perf_counter_ns()
    try:
        if reader is not None:
            reader.start()
        while _one_frame(parts, reader, pacer, result, start_ns):
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
        result.source_produced = source.frames_produced
        result.source_dropped = source.dropped
    return result


def _one_frame(parts: LoopParts, reader: LatestFrameReader | None, pacer: Pacer | None,
               result: LoopResult, start_ns: int) -> bool:
    """Capture, process, pace and write one frame; False when the loop should end."""
    source, timer = parts.source, parts.timer
    prepared = None
    with timer.stage("capture"):
        if reader is not None:
            frame, prepared = reader.take(timeout=3.0 / (source.fps or 30.0)
                                          if parts.on_stall else None)
            result.capture_status = reader.status
        else:
            frame = source.read()
    if frame is None and (reader is None or reader.ended or parts.on_stall is None):
        return False
    if frame is None:
        result.stalls += 1
        output = parts.on_stall((time.perf_counter_ns() - start_ns) / 1e9)
    else:
        result.frames_in += 1
        t_s = (frame.timestamp_ns - start_ns) / 1e9 if source.live else frame.pts_s
        output = parts.process(frame.image, t_s, prepared).output
    if pacer is not None:
        pacer.wait()
    with timer.stage("sink"):
        parts.sink.write(output)
    result.frames_out += 1
    if frame is not None:
        result.latency_ms.append((time.perf_counter_ns() - frame.timestamp_ns) / 1e6)
    timer.frame_done()
    if parts.progress is not None:
        parts.progress.update(1)
    return not (parts.on_frame is not None and parts.on_frame(output, frame, result) is False)
