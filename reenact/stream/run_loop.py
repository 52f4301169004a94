"""The live loop: capture thread -> per-frame work on the main thread -> paced sink.

A live source (a camera) is read on a thread with a one-frame buffer, so a slow frame drops the
stale ones instead of building a queue. A file source is read in order, every frame processed. A
real-time sink (one that declares `realtime`: virtual camera, stream, window) is paced to the
source's fps. Ctrl-C ends the loop
and the sink is closed cleanly, so a file stays playable.

With `begin` / `finish` (render ahead, `reenact.pipeline.render_ahead`), a frame's network runs
on a worker thread while the main thread begins the next frame; outputs still leave in order,
each with its own capture time. A live source's frame is sent as soon as it is rendered when no
newer frame is waiting, so a camera slower than the loop gets no extra delay.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from collections.abc import Callable

import numpy as np

from reenact.pipeline.background import Background
from reenact.pipeline.reenactor import FrameResult
from reenact.pipeline.render_ahead import FrameJob, RenderWorker
from reenact.pipeline.timing import StageTimer
from reenact.plugin_api import Frame, FrameSink, FrameSource
from reenact.stopping import exit_code, stop_signals_deferred
from reenact.stream.capture import AheadReader, LatestFrameReader


@dataclass
class LoopResult:
    """What happened in one run of the loop."""

    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    # 0: ran to its end; else stopped by Ctrl-C or SIGTERM, the exit code that says which
    # (`reenact.stopping.exit_code`: 130, 143)
    stop_code: int = 0
    stalls: int = 0  # frames filled in while a live source delivered nothing
    capture_status: str = ""  # e.g. "camera 0 lost; retrying every 1 s"
    captured: int = 0  # frames the capture thread took from a live source
    source_produced: int = 0  # frames the source returned
    source_dropped: int = 0  # frames a real-time source dropped as late before returning them
    latency_ms: deque = field(default_factory=lambda: deque(maxlen=8192))

    @property
    def interrupted(self) -> bool:
        """Stopped by Ctrl-C or SIGTERM rather than run to its end."""
        return self.stop_code != 0


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
    delivers nothing. prepare(image): runs on the capture thread of a live source, or on the
    read-ahead thread of one that is not (`AheadReader`: every frame, in order), so the next
    frame's tracking overlaps this frame's rendering; its value reaches `process`.
    begin / finish / worker: `process` in two halves, the network of one frame on `worker`
    while the next frame begins (render ahead); None = every frame by `process`.
    background: what the sink and `on_frame` get of an output and its avatar mask
    (`reenact.pipeline.background.Background`: RGBA to a sink whose `alpha` is True, and to
    `on_frame`, when transparent; else flattened onto the colour); None = the output as it is.
    """

    source: FrameSource
    sink: FrameSink
    process: Callable[[np.ndarray, float, object], FrameResult]
    timer: StageTimer
    on_frame: FrameHook | None = None
    on_stall: Callable[[float], np.ndarray] | None = None
    progress: object = None
    prepare: Callable[[np.ndarray], object] | None = None
    begin: Callable[[np.ndarray, float, object], FrameJob] | None = None
    finish: Callable[[FrameJob], FrameResult] | None = None
    worker: RenderWorker | None = None
    background: Background | None = None


def run_loop(
    parts: LoopParts, *, max_frames: int = 0, duration_s: float = 0.0, reconnect_s: float = 1.0
) -> LoopResult:
    """Run until the source ends, `max_frames`/`duration_s` are reached, a hook returns False,
    or Ctrl-C. When a live source delivers nothing for three frame intervals (a camera
    unplugged), `on_stall` gives the frame to send (the hook's frame is None), so a virtual
    camera never freezes. The caller owns opening and closing source and sink."""
    source = parts.source
    result = LoopResult()
    reader = (
        LatestFrameReader(source, reconnect_s=reconnect_s, prepare=parts.prepare)
        if source.live
        else None
    )
    ahead = AheadReader(source, parts.prepare) if reader is None and parts.prepare else None
    pacer = Pacer(source.fps) if parts.sink.realtime and not source.live else None
    flow = _Flow(parts, reader, pacer, result, ahead)
    try:
        if reader is not None:
            reader.start()
        while True:
            more = not (max_frames and result.frames_in >= max_frames) and not (
                duration_s and (time.perf_counter_ns() - flow.start_ns) / 1e9 >= duration_s
            )
            if not (more or flow.pending) or not flow.step(more):
                break
    except KeyboardInterrupt as exc:
        result.stop_code = exit_code(exc)
    finally:
        if ahead is not None:
            ahead.stop()
        if reader is not None:
            reader.stop()
            result.dropped = reader.dropped
            result.captured = reader.captured
        result.source_produced = source.frames_produced
        result.source_dropped = source.dropped
    return result


NEAR_DONE = 0.5  # x the main thread's half: a network this close to done is waited for


class _Average:
    """A running average of recent durations (ms): exponential, weight 1/8 to the newest."""

    def __init__(self) -> None:
        self.value = 0.0

    def add(self, ms: float) -> None:
        self.value = ms if self.value == 0.0 else self.value + (ms - self.value) / 8.0


class _Flow:
    """The loop's steps: capture, process (or begin / finish one frame apart), pace and write."""

    def __init__(
        self,
        parts: LoopParts,
        reader: LatestFrameReader | None,
        pacer: Pacer | None,
        result: LoopResult,
        ahead: AheadReader | None = None,
    ) -> None:
        self.parts, self.reader, self.pacer, self.result = parts, reader, pacer, result
        self.ahead = ahead  # a source that is not live, read (and tracked) one frame ahead
        self.pending: tuple[FrameJob, Frame] | None = None  # begun, its network on the worker
        self.start_ns = time.perf_counter_ns()
        self.begin_ms = _Average()  # the main thread's first half of a frame
        self.network_ms = _Average()  # the worker's part
        self.finish_ms = _Average()  # the main thread's second half (composite)
        self.interval_ms = 1000.0 / (parts.source.fps or 30.0)  # a live source's frame interval
        self.alpha: np.ndarray | None = None  # the last output's avatar mask

    def step(self, more: bool) -> bool:
        """Write one frame (or two, when a frame in flight is sent first); False when the loop
        should end. more: whether a new frame may be begun."""
        if self.pending is not None and (not more or self._send_first()):
            return self._send_pending()
        frame, prepared = self._capture()
        if frame is None:
            if self.pending is not None and not self._send_pending():
                return False
            if self.reader is None or self.reader.ended or self.parts.on_stall is None:
                return False
            self.result.stalls += 1
            return self._write(self.parts.on_stall(self._now_s()), None, self.alpha)
        self.result.frames_in += 1
        t_s = (frame.timestamp_ns - self.start_ns) / 1e9 if self.parts.source.live else frame.pts_s
        if self.parts.begin is None:
            return self._send(self.parts.process(frame.image, t_s, prepared), frame)
        return self._begin(frame, t_s, prepared)

    def _begin(self, frame: Frame, t_s: float, prepared: object) -> bool:
        """Begin this frame, start its network once the previous frame's is done, then send
        the previous frame (composited here while the network runs)."""
        start = time.perf_counter_ns()
        job = self.parts.begin(frame.image, t_s, prepared)
        self.begin_ms.add((time.perf_counter_ns() - start) / 1e6)
        previous, self.pending = self.pending, None
        if previous is not None:
            previous[0].wait()
        job.launch(self.parts.worker)
        if job.in_flight:
            self.pending = (job, frame)
            if self.reader is not None:
                job.when_done(self.reader.poke)
        alive = previous is None or self._send(self._finish(previous[0]), previous[1])
        if self.pending is None and alive:
            alive = self._send(self._finish(job), frame)
        return alive

    def _send_first(self) -> bool:
        """Whether to send the frame in flight before beginning another. A file's next frame
        is always there: it is begun first (throughput). A live source's frame in flight is
        sent once rendered, unless a newer frame comes first. The newer one is then begun first
        only when the loop could not keep up with the camera otherwise (a whole frame, done in
        turn, takes longer than the camera's frame interval) and the network still has more
        than half a `begin` to run: a camera the serial loop keeps up with gets its frames with
        the least delay, a faster one the most fps the two cores give."""
        if self.reader is None:
            return False
        job = self.pending[0]
        self.reader.wait_until(lambda: job.done)
        if job.done:
            return True
        in_turn_ms = self.begin_ms.value + self.network_ms.value + self.finish_ms.value
        if in_turn_ms > self.interval_ms and (
            self.network_ms.value - job.running_ms() > NEAR_DONE * self.begin_ms.value
        ):
            return False
        job.wait()
        return True

    def _send_pending(self) -> bool:
        job, frame = self.pending
        self.pending = None
        return self._send(self._finish(job), frame)

    def _finish(self, job: FrameJob) -> FrameResult:
        start = time.perf_counter_ns()
        result = self.parts.finish(job)
        if job.network_ms:
            self.network_ms.add(job.network_ms)
            self.finish_ms.add((time.perf_counter_ns() - start) / 1e6)
        return result

    def _capture(self) -> tuple[Frame | None, object]:
        parts, reader = self.parts, self.reader
        with parts.timer.stage("capture"):
            if reader is None:
                return self.ahead.take() if self.ahead is not None else (parts.source.read(), None)
            stall_s = 3.0 * self.interval_ms / 1000.0  # three frame intervals
            frame, prepared = reader.take(timeout=stall_s if parts.on_stall else None)
            self.result.capture_status = reader.status
            return frame, prepared

    def _now_s(self) -> float:
        return (time.perf_counter_ns() - self.start_ns) / 1e9

    def _send(self, done: FrameResult, frame: Frame) -> bool:
        self.alpha = done.alpha  # what a stall's frames (the last output held) keep
        return self._write(done.output, frame, done.alpha)

    def _write(
        self, output: np.ndarray, frame: Frame | None, alpha: np.ndarray | None = None
    ) -> bool:
        """Pace, write and count one output (its avatar mask `alpha`, for `parts.background`);
        False when a hook ends the loop."""
        parts, result = self.parts, self.result
        if self.pacer is not None:
            self.pacer.wait()
        # a stop lands after the count, so the count fits the file (never held for a live sink)
        with parts.timer.stage("sink"), stop_signals_deferred(hold=not parts.sink.realtime):
            if parts.background is not None:  # the frame, and what the panel gets of it
                sink_frame, output = parts.background.frames(
                    output, alpha, getattr(parts.sink, "alpha", False)
                )
                parts.sink.write(sink_frame)
            else:
                parts.sink.write(output)
            result.frames_out += 1
        if frame is not None:
            result.latency_ms.append((time.perf_counter_ns() - frame.timestamp_ns) / 1e6)
        parts.timer.frame_done()
        if parts.progress is not None:
            parts.progress.update(1)
        return not (parts.on_frame is not None and parts.on_frame(output, frame, result) is False)
