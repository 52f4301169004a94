"""Time the fusers per frame on this machine: `python -m lab.fusion_bench`.

Each fuser (the training-free transfer and Phi from `fusion.weights` or the shipped file) fuses
`--calls` frames of a real actor clip onto another face (by default the splits file's bench
clips, `configs/splits/fusion.yaml`), after one warm-up pass, with the neutrals fixed (as in the
live loop, where they change only on recalibration or a target switch). Prints the median and
p99 per call in milliseconds (perf_counter_ns around `fuse`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from reenact.config import load_config
from reenact_lab.train.landmark_cache import track_clip
from reenact_lab.train.splits import read_splits


def _faces(clip: Path, other: Path, count: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    frames = track_clip(clip, stride=1, max_frames=count)["landmarks"]
    frames = [f for f in frames if np.isfinite(f).all()]
    target = track_clip(other, stride=1, max_frames=1)["landmarks"][0]
    return frames, np.median(frames[:10], axis=0).astype(np.float32), target


def time_fuser(
    fuser, frames: list[np.ndarray], neutral: np.ndarray, target: np.ndarray, calls: int
) -> tuple[float, float]:
    """(median, p99) milliseconds of `fuser.fuse` over `calls` calls cycling through frames."""
    for frame in frames[:10]:
        fuser.fuse(frame, neutral, target, 1.0)
    times = np.empty(calls)
    for i in range(calls):
        frame = frames[i % len(frames)]
        start = time.perf_counter_ns()
        fuser.fuse(frame, neutral, target, 1.0)
        times[i] = (time.perf_counter_ns() - start) / 1e6
    return float(np.median(times)), float(np.percentile(times, 99))


def main(argv: list[str] | None = None) -> int:
    from reenact.pipeline.factory import build_fuser

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    media = Path(__file__).resolve().parents[1].parent / "shared" / "media" / "clips"
    splits = read_splits()
    parser.add_argument(
        "--clip",
        type=Path,
        default=media / splits.bench_clip,
        help="the actor clip (default: %(default)s)",
    )
    parser.add_argument(
        "--target",
        type=Path,
        default=media / splits.bench_target,
        help="the target face's clip (default: %(default)s)",
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    frames, neutral, target = _faces(args.clip, args.target, 200)
    for kind in ("training_free", "network"):
        config = load_config(None, [f"fusion.kind={kind}", *args.overrides])
        fuser = build_fuser(config)
        median, p99 = time_fuser(fuser, frames, neutral, target, args.calls)
        print(
            f"{kind:14s} {type(fuser).__name__:22s} median {median:.3f} ms  p99 {p99:.3f} ms "
            f"({args.calls} calls)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
