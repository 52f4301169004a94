"""What a moving target's first loop costs per frame: the renderer prepared for each new frame.

    python -m lab.target_prepare --target CLIP.mp4 [--renderer warp] [--skip 5]

A clip as the target (`stream.target=CLIP.mp4`) sets the renderer's target on every frame; on the
first loop each frame is prepared anew (its field, the lids', irises' and mouth's state), later
loops take what was kept (`reenact.render.warp.PreparedTargets`). This times `_use_target` for
every frame of the first loop (the first `--skip` left out: warm-up) in one process and prints
the median, p90 and p99 in ms. Compare code versions in separate processes, alternated.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from lab import run_tool
from reenact.config import load_config
from reenact.errors import InputError
from reenact.pipeline.factory import build_reenactor
from reenact.pipeline.timing import StageTimer


def first_loop_ms(target: str, renderer: str, skip: int) -> np.ndarray:
    """ms per frame of the first loop of `target` through `_use_target`, the first `skip` out."""
    config = load_config(None, [f"renderer.kind={renderer}", f"stream.target={target}"])
    reenactor = build_reenactor(config, timer=StageTimer())
    video = reenactor.target_video
    if video is None:
        reenactor.close()
        raise InputError(f"{target}: not a moving target (a video clip is needed)")
    times = []
    for _ in range(len(video.targets)):
        frame = video.next()
        start = time.perf_counter()
        reenactor._use_target(frame)  # the step measured, alone
        times.append((time.perf_counter() - start) * 1e3)
    reenactor.close()
    return np.array(times[skip:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab.target_prepare", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--target", required=True, help="a video clip to use as the target")
    parser.add_argument("--renderer", default="warp", help="renderer.kind (default warp)")
    parser.add_argument("--skip", type=int, default=5, help="warm-up frames left out (default 5)")
    args = parser.parse_args(argv)
    ms = first_loop_ms(args.target, args.renderer, args.skip)
    print(
        f"{args.target}: {len(ms)} frames, set target median {np.median(ms):.1f} ms, "
        f"p90 {np.percentile(ms, 90):.1f}, p99 {np.percentile(ms, 99):.1f}"
    )
    return 0


if __name__ == "__main__":
    run_tool(main, "lab.target_prepare")
