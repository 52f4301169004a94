"""Landmarks-only training data for Phi: track clips and stills once, keep aligned landmarks.

    python -m reenact_lab.train.landmark_cache ../shared/media/clips ../shared/media/expressions \
        --out cache/landmarks --stride 2 --max-frames 250

One `<stem>.npz` per clip (or per still folder entry) with `landmarks` (N,478,3) float32 aligned
256-crop pixels (NaN where no usable face), `frame_index` (N,) int64 and `names` (N,) str
(a still's file name). Tracked by the real MediaPipe tracker (`FaceTracker`, video mode for
clips, static mode for stills); files are written atomically and an existing file is reused.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from reenact.config.schema import TrackerConfig
from reenact.errors import InputError

CROP_SIZE = 256
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".avi")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _aligned(tracker, image: np.ndarray, max_yaw: float) -> np.ndarray:
    from reenact.landmarks.align import compute_alignment
    from reenact.landmarks.tracker import head_yaw_deg

    lm = tracker.track_one(image)
    if lm is None or abs(head_yaw_deg(lm)) > max_yaw:
        return np.full((478, 3), np.nan, np.float32)
    return compute_alignment(lm, CROP_SIZE).landmarks_to_crop(lm)


def track_clip(path: Path, *, stride: int, max_frames: int) -> dict[str, np.ndarray]:
    """A clip's aligned landmarks of every `stride`-th frame, up to `max_frames` of them."""
    import av

    from reenact.landmarks.tracker import FaceTracker

    config = TrackerConfig()
    landmarks, index = [], []
    try:
        with av.open(str(path)) as container, FaceTracker(config, static=False) as tracker:
            for i, frame in enumerate(container.decode(video=0)):
                if i % stride:
                    continue
                if len(index) >= max_frames:
                    break
                landmarks.append(
                    _aligned(tracker, frame.to_ndarray(format="rgb24"), config.max_yaw_deg)
                )
                index.append(i)
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: cannot decode video ({exc}); check the file") from None
    return {
        "landmarks": np.stack(landmarks),
        "frame_index": np.asarray(index, np.int64),
        "names": np.asarray([""] * len(index)),
    }


def track_stills(paths: list[Path]) -> dict[str, np.ndarray]:
    """Stills, each detected afresh (static mode)."""
    from reenact.imageio import load_image
    from reenact.landmarks.tracker import FaceTracker

    config = TrackerConfig()
    with FaceTracker(config, static=True) as tracker:
        landmarks = [_aligned(tracker, load_image(p), config.max_yaw_deg) for p in paths]
    return {
        "landmarks": np.stack(landmarks),
        "frame_index": np.arange(len(paths)),
        "names": np.asarray([p.name for p in paths]),
    }


def build(inputs: list[str], out: Path, *, stride: int, max_frames: int) -> list[Path]:
    """Track every clip under `inputs` and the stills of each folder; returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for root in map(Path, inputs):
        if not root.exists():
            raise InputError(f"{root}: no such file or folder")
        files = sorted(root.iterdir()) if root.is_dir() else [root]
        clips = [f for f in files if f.suffix.lower() in VIDEO_SUFFIXES]
        stills = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
        jobs = [
            (out / f"{c.stem}.npz", lambda c=c: track_clip(c, stride=stride, max_frames=max_frames))
            for c in clips
        ]
        if stills:
            jobs.append((out / f"{root.name}.npz", lambda s=stills: track_stills(s)))
        for target, job in jobs:
            if not target.exists():
                _save_npz(target, **job())
                print(f"tracked {target.name}", file=sys.stderr, flush=True)
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", help="clip files or folders of clips / stills")
    parser.add_argument("--out", default="cache/landmarks")
    parser.add_argument("--stride", type=int, default=2)
    parser.add_argument("--max-frames", type=int, default=250)
    args = parser.parse_args(argv)
    try:
        build(args.inputs, Path(args.out), stride=args.stride, max_frames=args.max_frames)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
