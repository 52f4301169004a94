"""Before / after timing of the warp's painters, interleaved in one process (issue 19).

    python scripts/warp_painters_ab.py REPLAY [--repeats 9]

"Before" is the pre-speed-up eye keeper and painters kept in tests/unit/warp_reference (and
the old WarpExtras compositing, `_reference_fill` there); "after" is reenact/render. Each call is timed with this thread's CPU time (steady
on a shared machine); printed: per painter, median over repeats of the per-repeat median and
p99 over the replay's frames. A replay comes from `reenact bench --save-replay`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit"))

from test_warp_painters_unchanged import _reference_fill, reference_warp  # noqa: E402

from reenact.render.warp import WarpRenderer  # noqa: E402
from reenact.render.warp_torch import WarpExtras  # noqa: E402
from reenact.tools.replay import load_replay  # noqa: E402


class _OldExtras:
    """The old WarpExtras.fill: eye planes, then the layers composited as before (the old
    clearing of the last frame's boxes, a few small slices, is left out)."""

    def __init__(self, warp: WarpRenderer, planes: np.ndarray) -> None:
        self.warp, self.planes, self.scratch = warp, planes, np.zeros_like(planes)

    def fill(self, xy: np.ndarray) -> None:
        _reference_fill(self.warp, self.scratch, xy, clear=False)


def _calls(warp: WarpRenderer, extras) -> dict:
    return {
        "eyes": warp.eyes.overrides,
        "irises": warp.irises.layers,
        "lids": warp.lids.layers,
        "mouth": warp.mouth.layers,
        "extras.fill": extras.fill,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("replay", type=Path)
    p.add_argument("--repeats", type=int, default=9)
    args = p.parse_args()
    data = load_replay(args.replay, 256)
    new, old = WarpRenderer(size=256), reference_warp()
    for w in (new, old):
        w.set_target(data.crop, data.landmarks)
    xys = [new.follow(f) for f in data.fused]
    planes = np.zeros((7, 256, 256), np.float16)
    sides = {
        "old": _calls(old, _OldExtras(old, planes.copy())),
        "new": _calls(new, WarpExtras(new, planes)),
    }
    stats: dict = {}
    for _ in range(args.repeats):
        for name in sides["old"]:
            for side, calls in sides.items():
                ts = []
                for xy in xys:
                    start = time.thread_time_ns()
                    calls[name](xy)
                    ts.append((time.thread_time_ns() - start) / 1e6)
                stats.setdefault((name, side), []).append((np.median(ts), np.percentile(ts, 99)))
    print(f"CPU ms per frame, {len(xys)} frames of {args.replay}, {args.repeats} repeats")
    for name in sides["old"]:
        o, n = (np.median(stats[(name, s)], axis=0) for s in ("old", "new"))
        print(
            f"{name:<12} before {o[0]:.3f} (p99 {o[1]:.2f})  after {n[0]:.3f} (p99 {n[1]:.2f})"
            f"  {100 * (1 - n[0] / o[0]):.0f}% less"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
