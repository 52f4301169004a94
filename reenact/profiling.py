"""Step timings inside the frame's stages, for `reenact bench --profile`; off unless it runs.

The code on the frame's path marks the end of each of its steps with a lap:

    lap = laps("warp")     # this stage's clock starts now
    fused = self.follow(fused_landmarks)
    lap("follow")          # the time since the last lap, kept as "warp.follow"
    ...
    lap.skip()             # a part timed by its own laps: restart the clock without keeping it

While no profile runs, `laps` returns one shared object whose calls do nothing, so a mark costs
a call and the normal path allocates nothing. Inside `with profile() as steps:` every lap on any
thread is kept (CPU work timed with `perf_counter_ns`; a GPU step is timed only as far as its
host waits for it), and `steps.summary()` gives each step's median and p99 in ms.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


class StepProfile:
    """Every kept duration (ms) of every step, by "stage.step" name in the order first seen."""

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = {}

    def add(self, name: str, ms: float) -> None:
        # setdefault and append are each atomic under the GIL: laps may come from two threads
        self.ms.setdefault(name, []).append(ms)

    def summary(self) -> dict[str, dict[str, float]]:
        """{"stage.step": {median_ms, p99_ms, count}} in the order the steps were first seen."""
        out = {}
        for name, samples in list(self.ms.items()):
            v = np.asarray(samples, dtype=np.float64)
            out[name] = {
                "median_ms": float(np.median(v)),
                "p99_ms": float(np.percentile(v, 99)),
                "count": len(v),
            }
        return out


class _Laps:
    """One stage's clock while a profile runs: each call keeps the time since the last."""

    __slots__ = ("_profile", "_stage", "_last")

    def __init__(self, profile: StepProfile, stage: str) -> None:
        self._profile, self._stage = profile, stage
        self._last = time.perf_counter_ns()

    def __call__(self, step: str) -> None:
        now = time.perf_counter_ns()
        self._profile.add(f"{self._stage}.{step}", (now - self._last) / 1e6)
        self._last = now

    def skip(self) -> None:
        self._last = time.perf_counter_ns()


class _NoLaps:
    """The laps while no profile runs: nothing kept, nothing allocated."""

    __slots__ = ()

    def __call__(self, step: str) -> None:
        return None

    def skip(self) -> None:
        return None


NO_LAPS = _NoLaps()
_active: StepProfile | None = None
_lock = threading.Lock()


def laps(stage: str) -> _Laps | _NoLaps:
    """The clock of one pass through `stage` (see the module docstring)."""
    profile = _active
    return NO_LAPS if profile is None else _Laps(profile, stage)


@contextmanager
def profile() -> Iterator[StepProfile]:
    """Keep every lap made inside the block, on any thread; one profile at a time."""
    global _active
    with _lock:
        if _active is not None:
            raise RuntimeError("a step profile is already running")
        _active = StepProfile()
        steps = _active
    try:
        yield steps
    finally:
        _active = None
