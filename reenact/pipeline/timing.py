"""Per-stage timing in ring buffers (median and p99 per stage, printed as a table), and the
stream clock that keeps frame times finite and going forward (`StreamClock`)."""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from collections.abc import Iterator

import numpy as np

STAGES = ("capture", "target", "track", "smooth", "fuse", "render", "composite", "sink")


class StageTimer:
    """Keeps the last `capacity` durations (ms) of each stage, without allocating per frame."""

    def __init__(self, stages: tuple[str, ...] = STAGES, *, capacity: int = 2048) -> None:
        self.stages = stages
        self.capacity = capacity
        self._ms = {name: np.zeros(capacity, dtype=np.float64) for name in stages}
        self._count = {name: 0 for name in stages}
        self._frame_ms = np.zeros(capacity, dtype=np.float64)
        self._frames = 0
        self._first_ns = 0
        self._last_ns = 0
        # the process's CPU time (every thread) at the same marks: a frame's cost on a loaded
        # machine, where wall time also counts other programs' turns
        self._first_cpu_ns = 0
        self._last_cpu_ns = 0

    def add(self, stage: str, ms: float) -> None:
        i = self._count[stage] % self.capacity
        self._ms[stage][i] = ms
        self._count[stage] += 1

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter_ns()
        try:
            yield
        finally:
            self.add(name, (time.perf_counter_ns() - start) / 1e6)

    def frame_done(self) -> None:
        """Mark the end of one frame: end-to-end time and throughput."""
        now = time.perf_counter_ns()
        cpu = time.process_time_ns()
        if self._frames == 0:
            self._first_ns, self._first_cpu_ns = now, cpu
        elif self._last_ns:
            self._frame_ms[self._frames % self.capacity] = (now - self._last_ns) / 1e6
        self._last_ns, self._last_cpu_ns = now, cpu
        self._frames += 1

    def values(self, stage: str) -> np.ndarray:
        n = min(self._count[stage], self.capacity)
        return self._ms[stage][:n]

    def summary(self) -> dict[str, dict[str, float]]:
        """{stage: {median_ms, p99_ms, count}} plus 'fps' (frames per second of wall time)."""
        out: dict[str, dict[str, float]] = {}
        for name in self.stages:
            v = self.values(name)
            if len(v):
                out[name] = {
                    "median_ms": float(np.median(v)),
                    "p99_ms": float(np.percentile(v, 99)),
                    "count": int(self._count[name]),
                }
        total = self.total_ms()
        if len(total):
            out["total"] = {
                "median_ms": float(np.median(total)),
                "p99_ms": float(np.percentile(total, 99)),
                "count": len(total),
            }
        return out

    def total_ms(self) -> np.ndarray:
        """Per-frame sum of the stages (excluding capture wait), for the frames all stages saw."""
        counts = [min(self._count[s], self.capacity) for s in self.stages if s != "capture"]
        counts = [c for c in counts if c]
        if not counts:
            return np.zeros(0)
        n = min(counts)
        return sum(self._ms[s][:n] for s in self.stages if s != "capture" and self._count[s])

    def fps(self) -> float:
        if self._frames < 2:
            return 0.0
        return (self._frames - 1) / ((self._last_ns - self._first_ns) / 1e9)

    def cpu_ms_per_frame(self) -> float:
        """The process's CPU time (all its threads) per frame, first to last frame, ms."""
        if self._frames < 2:
            return 0.0
        return (self._last_cpu_ns - self._first_cpu_ns) / 1e6 / (self._frames - 1)

    def lines(self) -> list[str]:
        """Short lines for an on-screen overlay."""
        s = self.summary()
        lines = [f"{self.fps():5.1f} fps"]
        lines += [f"{k:<9} {v['median_ms']:6.2f} ms" for k, v in s.items()]
        return lines

    def table(self) -> str:
        """A text table: stage, median ms, p99 ms, count; then end-to-end fps."""
        rows = [f"{'stage':<10} {'median ms':>10} {'p99 ms':>10} {'frames':>8}"]
        for name, v in self.summary().items():
            rows.append(f"{name:<10} {v['median_ms']:>10.2f} {v['p99_ms']:>10.2f} {v['count']:>8d}")
        rows.append(f"end-to-end {self.fps():.1f} fps over {self._frames} frames")
        return "\n".join(rows)


class StreamClock:
    """Each frame's time as the stages use it: finite, and never going back.

    The stages measure time between frames: the landmark smoothing, the head motion's averages,
    the preset blends, the face-lost hold and fade, a target switch's cross-fade. A source's
    times are not always fit for that. A damaged file's last frames can come without one (NaN),
    a network stream that reconnects starts its clock again, and a file spliced from pieces can
    jump back. A NaN or backward time stops those stages or runs them backwards: a cross-fade
    whose start is NaN mixes every later frame to black.

    `clock(t_s)` returns the source's own time while its times go forward, so a well-timed
    source is not changed at all. A missing time, or one behind the last, becomes the last time
    plus the last step between frames. The source's later times are then shifted to carry on
    from there.
    """

    MAX_STEP_S = 0.5  # a longer gap (a pause) is not taken as the frame step

    def __init__(self, step_s: float = 1.0 / 30.0) -> None:
        self.step_s = float(step_s)
        self.offset_s = 0.0  # added to the source's times after a jump back
        self._last: float | None = None

    def __call__(self, t_s: float) -> float:
        t = float(t_s) + self.offset_s
        if self._last is None:
            if not math.isfinite(t):
                self.offset_s, t = 0.0, 0.0
        elif not math.isfinite(t) or t < self._last:
            mended = self._last + self.step_s
            if math.isfinite(t):
                self.offset_s += mended - t
            t = mended
        elif 0.0 < t - self._last <= self.MAX_STEP_S:
            self.step_s = t - self._last
        self._last = t
        return t
