"""Time the training-free warp's CPU stages one by one on a replay (median and p99 per stage).

    python -m lab.warp_profile --replay FILE [--size 256] [--frames 300] [--clock cpu]

Stages, in frame order: `follow` (uncross / snap the lids), `field` (forward field, Newton
inversion, upsample), `eyes` (the eyeball override of the map), `remap` (cv2.remap of the face
box), the painters `irises`, `lids`, `mouth`, and `extras` (`WarpExtras.fill`, the CUDA
generator's CPU share: eye override plus the three painters' layers composited into 7 planes).
`--clock cpu` counts this thread's CPU time instead of wall time: on a machine shared with
other work it leaves out the time spent waiting for a core (but also work cv2 hands to its
worker threads). A replay is made with `reenact bench --source ... --save-replay FILE` (`reenact.tools.replay`).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from reenact.render.corrections.apply import bend, paint
from reenact.render.field import NUM_MESH
from reenact.render.warp import WarpRenderer
from reenact.tools.replay import load_replay

STAGES = ("follow", "field", "eyes", "remap", "irises", "lids", "mouth", "extras")


def _stage_calls(warp: WarpRenderer, extras) -> dict[str, Callable]:
    """One callable per stage; each takes (fused (478,3), state dict) and may fill the state."""
    import cv2

    eyes, irises, lids, mouth = (warp.correction(n) for n in ("eyes", "irises", "lids", "mouth"))

    def field(_, st):
        fm = warp.field
        disp = st["xy"][:NUM_MESH] - warp.target_xy[:NUM_MESH]
        back = fm.backward(fm.forward(disp), warp.iterations)
        x0, y0, x1, y1 = fm.roi
        up = cv2.resize(back, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        np.add(warp.identity[y0:y1, x0:x1], up, out=warp._map[y0:y1, x0:x1])

    def remap(_, st):
        x0, y0, x1, y1 = warp.field.roi
        np.copyto(st["out"], warp.target)
        cv2.remap(
            warp.target,
            warp._map[y0:y1, x0:x1],
            None,
            cv2.INTER_LINEAR,
            dst=st["out"][y0:y1, x0:x1],
            borderMode=cv2.BORDER_REFLECT,
        )

    return {
        "follow": lambda f, st: st.__setitem__("xy", warp.follow(f)),
        "field": field,
        "eyes": lambda f, st: bend(warp._map, warp.identity, eyes.geometry(st["xy"])),
        "remap": remap,
        "irises": lambda f, st: paint(st["out"], irises.overlay(st["xy"])),
        "lids": lambda f, st: paint(st["out"], lids.overlay(st["xy"])),
        "mouth": lambda f, st: paint(st["out"], mouth.overlay(st["xy"])),
        "extras": lambda f, st: extras.fill(st["xy"]),
    }


def profile_warp(
    replay: Path, *, size: int = 256, frames: int = 300, warmup: int = 10, clock: str = "wall"
) -> dict:
    """Per stage {median_ms, p99_ms, mean_ms} over `frames` replayed frames (cycled); clock
    "wall" (perf_counter) or "cpu" (this thread's CPU time)."""
    now = time.thread_time_ns if clock == "cpu" else time.perf_counter_ns
    from reenact.render.corrections.apply import WarpExtras

    data = load_replay(replay, size)
    warp = WarpRenderer(size=size)
    warp.set_target(data.crop, data.landmarks)
    extras = WarpExtras(warp, np.zeros((7, size, size), np.float32))
    calls = _stage_calls(warp, extras)
    times: dict[str, list[float]] = {name: [] for name in (*STAGES, "total")}
    state = {"out": np.empty((size, size, 3), np.uint8)}
    for i in range(warmup + frames):
        fused = data.fused[i % len(data.fused)]
        total = 0.0
        for name in STAGES:
            start = now()
            calls[name](fused, state)
            ms = (now() - start) / 1e6
            total += ms
            if i >= warmup:
                times[name].append(ms)
        if i >= warmup:
            times["total"].append(total)
    return {
        name: {
            "median_ms": float(np.median(v)),
            "p99_ms": float(np.percentile(v, 99)),
            "mean_ms": float(np.mean(v)),
        }
        for name, v in times.items()
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m lab.warp_profile", description=__doc__.split("\n")[0]
    )
    p.add_argument("--replay", type=Path, required=True, help="a replay from --save-replay")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--frames", type=int, default=300)
    p.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or this thread's CPU time (steadier on a busy machine)",
    )
    args = p.parse_args(argv)
    result = profile_warp(args.replay, size=args.size, frames=args.frames, clock=args.clock)
    print(f"{args.clock} clock, {args.frames} frames of {args.replay} at {args.size}")
    print(f"{'stage':<8} {'median ms':>10} {'p99 ms':>8} {'mean ms':>8}")
    for name, v in result.items():
        print(f"{name:<8} {v['median_ms']:>10.3f} {v['p99_ms']:>8.3f} {v['mean_ms']:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
