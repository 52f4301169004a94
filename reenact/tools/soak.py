"""`reenact soak`: the live loop for a set time on a looping real clip, watched for decay.

The clip plays at its own rate like a camera (frames that come late are dropped by the source,
stale ones by the capture thread). Every frame is accounted for: decoded = dropped by the source
+ captured; captured = processed + dropped by the capture thread (a frame still buffered at the
end counts as dropped).
Memory (RSS) and fps are sampled per window, so growth and decay show.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field

import numpy as np

from reenact.config import Config, replace
from reenact.stream.session import run_session


def rss_mib() -> float:
    """This process's resident memory now, in MiB (Linux /proc; else the peak)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class SoakWindow:
    t_s: float
    frames: int
    fps: float
    rss_mib: float


@dataclass
class SoakMonitor:
    """A per-frame hook sampling fps and memory every `window_s` seconds."""

    window_s: float
    windows: list[SoakWindow] = field(default_factory=list)
    _start: float = 0.0
    _last: float = 0.0
    _frames: int = 0

    def __call__(self, reenactor, sink):
        self._start = self._last = time.perf_counter()
        return self.hook

    def hook(self, output, frame, result) -> None:
        self._frames += 1
        now = time.perf_counter()
        if now - self._last >= self.window_s:
            self.windows.append(
                SoakWindow(
                    t_s=round(now - self._start, 2),
                    frames=self._frames,
                    fps=self._frames / (now - self._last),
                    rss_mib=round(rss_mib(), 1),
                )
            )
            self._last, self._frames = now, 0


def run_soak(config: Config, *, duration_s: float, window_s: float, warmup_s: float) -> dict:
    """Run the loop for `duration_s` and return the report (see module docstring)."""
    config = replace(
        config,
        source={"loop": True, "realtime": True},
        stream={"duration_s": duration_s, "max_frames": 0},
    )
    monitor = SoakMonitor(window_s=window_s)
    report = run_session(config, show_progress=False, on_frame=monitor)
    return summarize(report, monitor.windows, warmup_s=warmup_s, duration_s=duration_s)


def summarize(report, windows: list[SoakWindow], *, warmup_s: float, duration_s: float) -> dict:
    loop = report.loop
    steady = [w for w in windows if w.t_s > warmup_s] or windows
    rss = np.array([w.rss_mib for w in steady]) if steady else np.zeros(1)
    fps = np.array([w.fps for w in steady]) if steady else np.zeros(1)
    half = max(1, len(fps) // 2)
    return {
        "duration_s": duration_s,
        "frames": {
            "decoded": loop.source_produced + loop.source_dropped,
            "dropped_by_source": loop.source_dropped,
            "captured": loop.captured,
            "produced_by_source": loop.source_produced,
            "dropped_by_capture": loop.dropped,
            "processed": loop.frames_in,
            "written": loop.frames_out,
            "stall_frames": loop.stalls,
        },
        "memory_mib": {
            "after_warmup": float(rss[0]),
            "end": float(rss[-1]),
            "growth": float(rss[-1] - rss[0]),
            "max": float(rss.max()),
        },
        "fps": {
            "first_half": float(fps[:half].mean()),
            "second_half": float(fps[half:].mean()) if len(fps) > half else float(fps.mean()),
            "min_window": float(fps.min()),
        },
        "latency_ms": {
            "median": float(np.median(loop.latency_ms)) if loop.latency_ms else 0.0,
            "p99": float(np.percentile(loop.latency_ms, 99)) if loop.latency_ms else 0.0,
        },
        "windows": [w.__dict__ for w in windows],
        "stages": report.timer.summary(),
    }


def format_report(result: dict) -> str:
    f, m, fps = result["frames"], result["memory_mib"], result["fps"]
    return "\n".join(
        [
            f"soak {result['duration_s']:.0f} s",
            f"frames: decoded {f['decoded']} = source-dropped {f['dropped_by_source']} + captured "
            f"{f['captured']}; captured = processed {f['processed']} + capture-dropped "
            f"{f['dropped_by_capture']}; written {f['written']} (stall fill {f['stall_frames']})",
            f"memory: {m['after_warmup']:.1f} -> {m['end']:.1f} MiB (growth {m['growth']:+.1f}, "
            f"max {m['max']:.1f})",
            f"fps: first half {fps['first_half']:.1f}, second half {fps['second_half']:.1f}, "
            f"worst window {fps['min_window']:.1f}",
            f"latency capture->sink: median {result['latency_ms']['median']:.1f} ms, "
            f"p99 {result['latency_ms']['p99']:.1f} ms",
        ]
    )
