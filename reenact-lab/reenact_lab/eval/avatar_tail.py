"""The held-out tail of each clip an avatar was trained on, found again from its manifest.

`reenact avatar train` keeps the last part of each clip (by time) for validation and records, per
source clip, its name, sha256 and frame count (`source_clips`). The tail is frames
[ceil((1 - val_share) * frames), frames) (`val_share`: the manifest's, else the trainer's
`VAL_SHARE`), or the entry's own `frames_val` [first, stop) when it gives one. The file is looked
for at the entry's path, by its name in the working directory and beside the `--clips` given, and
measured only when it still hashes the same: other bytes could hold frames it was trained on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reenact.config import Config
from reenact.errors import InputError
from reenact.landmarks.clips import NUM_POINTS, TrackedClip
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.tracker import FaceTracker, head_yaw_deg
from reenact_lab.train.avatar_track import file_sha256  # the hash avatar train records
from reenact.video import clip_fps, read_frames

__all__ = ["TailClip", "file_sha256", "tail_clips", "track_tail"]


@dataclass(frozen=True)
class TailClip:
    """Frames [first, stop) of `path`, kept out of the avatar's training."""

    name: str
    path: Path
    first: int
    stop: int

    def to_json(self) -> dict:
        return {"name": self.name, "path": str(self.path), "frames_val": [self.first, self.stop]}


def _span(entry: dict, share: float) -> tuple[int, int] | None:
    """[first, stop) of the entry's held-out frames: its `frames_val` (a pair, or a list of frame
    indices) if it gives one, else the last `share` of its `frames`."""
    value = entry.get("frames_val")
    if isinstance(value, list | tuple):
        try:
            items = [int(v) for v in value]
        except (TypeError, ValueError):
            return None
        if len(items) == 2 and items[1] > items[0]:
            return items[0], items[1]
        return (min(items), max(items) + 1) if len(items) > 2 else None
    frames = entry.get("frames")
    if isinstance(frames, int) and not isinstance(frames, bool) and frames > 1:
        return min(frames - 1, math.ceil((1.0 - share) * frames)), frames
    return None


def _find(entry: dict, folders: list[Path]) -> Path | None:
    """The entry's file: at its path, else by its name (a stem: any extension) in `folders`."""
    named = [Path(str(entry[k])) for k in ("path", "source", "name") if entry.get(k)]
    for path in named:
        if path.is_file():
            return path
    for folder in folders:
        for path in named:
            found = [folder / path.name, *sorted(folder.glob(f"{path.stem}.*"))]
            for candidate in found:
                if candidate.is_file():
                    return candidate
    return None


def tail_clips(manifest: dict, near: Sequence[Path] = ()) -> tuple[list[TailClip], str]:
    """(the tails that can be found again, a sentence saying which could not and why); `near`:
    files whose folders are searched too (the clips given)."""
    from reenact_lab.train.avatar_data import VAL_SHARE  # numpy only: no torch needed

    share = float(manifest.get("val_share", VAL_SHARE))
    folders = list(dict.fromkeys([Path.cwd(), *(Path(p).resolve().parent for p in near)]))
    tails, missing = [], []
    entries = manifest.get("source_clips") or []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        label = Path(str(entry.get("path") or entry.get("name") or "?")).name
        span = _span(entry, share)
        path = _find(entry, folders)
        if span is None:
            missing.append(f"{label} (the manifest gives neither frames_val nor frames)")
        elif path is None:
            missing.append(f"{label} (file not found: pass a clip beside it with --clips)")
        elif not entry.get("sha256"):
            missing.append(f"{label} (no sha256 in the manifest to check the file against)")
        elif file_sha256(path) != entry["sha256"]:
            missing.append(f"{label} (the file found differs from the one trained on)")
        else:
            tails.append(TailClip(f"{path.stem}_tail", path, *span))
    if not entries:
        return tails, "the manifest names no source clips: the held-out tail cannot be found"
    if missing:
        return tails, "held-out tail not measured for " + "; ".join(missing)
    return tails, f"held-out tail measured on all {len(tails)} source clip(s)"


def track_tail(tail: TailClip, config: Config) -> TrackedClip:
    """The tail tracked in video mode from its first frame, as `clips.track_clip` tracks a clip;
    its first `eval.max_frames` frames (0 = all) kept. Frame indices stay the clip's own (rows
    before the tail are marked without a face), so the full frames are found again by index."""
    size = config.renderer.size
    keep = (
        tail.stop
        if config.eval.max_frames == 0
        else min(tail.stop, tail.first + config.eval.max_frames)
    )
    count = keep
    landmarks = np.full((count, NUM_POINTS, 3), np.nan, np.float32)
    landmarks_crop = landmarks.copy()
    crops = np.zeros((count, size, size, 3), np.uint8)  # pages before the tail are never touched
    valid = np.zeros(count, bool)
    with FaceTracker(config.tracker, static=False) as tracker:
        for index, image in enumerate(read_frames(tail.path, keep)):
            if index < tail.first:
                continue
            found = tracker.track_one(image)
            if found is None or abs(head_yaw_deg(found)) > config.tracker.max_yaw_deg:
                continue
            alignment = compute_alignment(found, size)
            landmarks[index] = found
            landmarks_crop[index] = alignment.landmarks_to_crop(found)
            crops[index] = alignment.crop_image(image)
            valid[index] = True
    if not valid.any():
        raise InputError(f"{tail.path}: no face in the held-out frames {tail.first}-{tail.stop}")
    return TrackedClip(
        name=tail.name,
        path=tail.path,
        fps=clip_fps(tail.path),
        landmarks=landmarks,
        landmarks_crop=landmarks_crop,
        crops=crops,
        valid=valid,
    )
