"""`reenact prepare`: track every clip and still once, cache aligned crops and landmarks.

Each input item (see `reenact_lab.train.sources`) is run through the MediaPipe tracker (video mode
for clips and frame sequences, static mode for stills); each frame with a face is aligned to the
canonical crop (`reenact.landmarks.align`) and its crop and aligned landmarks are stored in the
cache (`reenact_lab.train.cache`, docs/DATA.md). A frame counts as "no face" when the tracker finds
none or the head is turned beyond `tracker.max_yaw_deg`.

An entry already in the cache with the same source files and settings is reused, so preparing
again after adding clips only tracks the new ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reenact.config.schema import Config
from reenact.errors import InputError
from reenact.imageio import load_image
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.tracker import FaceTracker, head_yaw_deg
from reenact_lab import get_logger
from reenact_lab.train.cache import (
    CACHE_VERSION,
    CROPS_FORMATS,
    CacheEntry,
    read_entry,
    write_entry,
    write_index,
)
from reenact_lab.train.sources import InputItem, discover, neutral_variants
from reenact.video import DEFAULT_FPS, VideoReader, clip_fps, read_frames

log = get_logger(__name__)

NUM_POINTS = 478


@dataclass
class _Tracked:
    """What tracking one item gives: per kept frame its crop, landmarks and alignment."""

    crops: list[np.ndarray]
    landmarks: list[np.ndarray]
    alignments: list[np.ndarray]
    valid: list[bool]
    frame_index: list[int]
    frame_names: list[str]
    fps: float


def read_still(path: Path) -> np.ndarray:
    """A still as (H,W,3) uint8 RGB (`reenact.imageio`, which also reads the GIF data that some
    data sets store under a .png name)."""
    return load_image(path)


def _clip_frames(path: Path, stride: int, max_frames: int) -> Iterator[tuple[int, str, np.ndarray]]:
    """Every `stride`-th frame of a clip (upright, `reenact.video`), at most `max_frames`."""
    kept = 0
    for index, image in enumerate(read_frames(path)):
        if index % stride:
            continue
        if max_frames and kept >= max_frames:
            break
        kept += 1
        yield index, "", image


def _item_frames(item: InputItem, stride: int, max_frames: int):
    if item.kind == "clip":
        return _clip_frames(item.paths[0], stride, max_frames)
    numbered = list(enumerate(item.paths))
    if item.kind == "frames":  # a sequence is strided and cut like a clip
        numbered = numbered[::stride][: max_frames or None]
    return ((i, p.name, read_still(p)) for i, p in numbered)


def _face_ok(landmarks: np.ndarray | None, max_yaw_deg: float) -> bool:
    return landmarks is not None and abs(head_yaw_deg(landmarks)) <= max_yaw_deg


def track_item(item: InputItem, config: Config, size: int, bar=None) -> _Tracked:
    """Track, align and crop every kept frame of `item` at crop side `size`."""
    train = config.train
    fps = clip_fps(item.paths[0]) if item.kind == "clip" else DEFAULT_FPS
    out = _Tracked([], [], [], [], [], [], fps)
    blank = np.zeros((size, size, 3), np.uint8)
    with FaceTracker(config.tracker, static=item.kind == "images") as tracker:
        for index, name, image in _item_frames(item, max(1, train.frame_stride), train.max_frames):
            landmarks = tracker.track_one(image)
            ok = _face_ok(landmarks, config.tracker.max_yaw_deg)
            if ok:
                align = compute_alignment(landmarks, size)
                out.crops.append(align.crop_image(image))
                out.landmarks.append(align.landmarks_to_crop(landmarks))
                out.alignments.append(align.matrix.astype(np.float32))
            else:
                out.crops.append(blank)
                out.landmarks.append(np.full((NUM_POINTS, 3), np.nan, np.float32))
                out.alignments.append(np.zeros((2, 3), np.float32))
            out.valid.append(ok)
            out.frame_index.append(index)
            out.frame_names.append(name)
            if bar is not None:
                bar.update(1)
    return out


def neutral_reference(
    entry_landmarks: np.ndarray,
    valid: np.ndarray,
    labels: np.ndarray,
    variants: np.ndarray,
    kind: str,
    neutral_frames: int,
) -> int:
    """The entry's neutral frame: for stills, the first valid 'neutral' still (else a neutral
    variant, else the first valid one); for clips, the valid frame nearest (mean xy distance)
    to the mean of the first `neutral_frames` valid frames, as the live loop calibrates."""
    good = np.flatnonzero(valid)
    if not len(good):
        return -1
    if kind == "images":
        for wanted in (labels == "neutral", np.isin(variants, list(neutral_variants()))):
            hits = np.flatnonzero(wanted & valid)
            if len(hits):
                return int(hits[0])
        return int(good[0])
    xy = entry_landmarks[good, :, :2]
    mean = xy[: max(1, neutral_frames)].mean(axis=0)
    distance = np.linalg.norm(xy - mean, axis=2).mean(axis=1)
    return int(good[int(np.argmin(distance))])


def source_stamp(item: InputItem, config: Config, size: int, crops_format: str) -> str:
    """A digest of the item's files (size, mtime) and every setting that changes the entry."""
    files = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in item.paths]
    t = config.train
    settings = [
        size,
        crops_format,
        t.frame_stride,
        t.max_frames,
        t.cache_crf,
        CACHE_VERSION,
        config.tracker.max_yaw_deg,
        config.tracker.face_index,
        config.calibration.neutral_frames,
    ]
    return hashlib.sha1(json.dumps([files, settings]).encode()).hexdigest()[:16]


def _build_entry(
    item: InputItem, tracked: _Tracked, *, config: Config, size: int, crops_format: str, stamp: str
) -> CacheEntry:
    n = len(tracked.valid)
    if item.kind == "images":
        labels = np.asarray(item.labels, dtype=str)
        variants = np.asarray(item.variants, dtype=str)
    else:  # a clip or sequence carries one label (from its name or folder), if any
        labels = np.full(n, item.labels[0] if item.labels else "")
        variants = np.full(n, "")
    landmarks = np.stack(tracked.landmarks).astype(np.float32)
    valid = np.asarray(tracked.valid, dtype=bool)
    reference = neutral_reference(
        landmarks, valid, labels, variants, item.kind, config.calibration.neutral_frames
    )
    return CacheEntry(
        name=item.name,
        identity=item.identity,
        kind=item.kind,
        source=str(item.paths[0]),
        source_stamp=stamp,
        fps=tracked.fps,
        size=size,
        reference=reference,
        crops_format=crops_format,
        landmarks=landmarks,
        valid=valid,
        frame_index=np.asarray(tracked.frame_index, np.int32),
        frame_names=np.asarray(tracked.frame_names, dtype=str),
        expression=labels,
        variant=variants,
        alignment=np.stack(tracked.alignments),
    )


def _reusable(folder: Path, item: InputItem, stamp: str) -> CacheEntry | None:
    path = folder / f"{item.name}.npz"
    if not path.is_file():
        return None
    try:
        entry = read_entry(path)
    except InputError:
        return None
    return entry if entry.source_stamp == stamp and entry.crops_path.is_file() else None


def _expected_frames(item: InputItem, config: Config) -> int:
    """Frames `track_item` will read (for the progress bar; 0 when a clip does not say)."""
    if item.kind == "images":
        return len(item.paths)
    frames = len(item.paths)
    if item.kind == "clip":
        try:
            with VideoReader(item.paths[0]) as reader:
                frames = reader.frame_count
        except InputError:
            return 0
    frames = -(-frames // max(1, config.train.frame_stride))
    return min(frames, config.train.max_frames) if config.train.max_frames else frames


def prepare(
    inputs: list[str] | tuple[str, ...],
    config: Config,
    *,
    out_dir: str | Path,
    crops_format: str | None = None,
    size: int | None = None,
    progress: bool = True,
) -> list[CacheEntry]:
    """Track and cache every input; returns the entries (landmarks loaded, crops on disk).

    inputs: clips, folders of clips / stills / frame sequences. size: crop side (default
    renderer.size). crops_format: "mp4" or "npz" (default train.cache_format).
    Raises InputError naming the folder (or file) when it yields no face at all.
    """
    from tqdm import tqdm

    crops_format = crops_format or config.train.cache_format
    if crops_format not in CROPS_FORMATS:
        raise InputError(
            f"cache format '{crops_format}': expected one of {', '.join(CROPS_FORMATS)}"
        )
    size = int(size or config.renderer.size)
    folder = Path(out_dir)
    items = discover(list(inputs))
    total = sum(_expected_frames(item, config) for item in items)
    entries: list[CacheEntry] = []
    with tqdm(total=total, unit="frame", desc="prepare", disable=not progress) as bar:
        for item in items:
            bar.set_postfix_str(item.name)
            stamp = source_stamp(item, config, size, crops_format)
            entry = _reusable(folder, item, stamp)
            if entry is None:
                tracked = track_item(item, config, size, bar)
                entry = _build_entry(
                    item, tracked, config=config, size=size, crops_format=crops_format, stamp=stamp
                )
                write_entry(folder, entry, np.stack(tracked.crops), crf=config.train.cache_crf)
            else:
                bar.update(entry.num_frames)
            entries.append(entry)
    kept = _drop_faceless(items, entries)
    write_index(folder, kept, size)
    return kept


def _drop_faceless(items: list[InputItem], entries: list[CacheEntry]) -> list[CacheEntry]:
    """Entries with a face; InputError for an input path that gave no face at all."""
    by_origin: dict[Path, list[tuple[InputItem, CacheEntry]]] = {}
    for item, entry in zip(items, entries):
        by_origin.setdefault(item.origin, []).append((item, entry))
    for origin, pairs in by_origin.items():
        if not any(entry.valid.any() for _, entry in pairs):
            frames = sum(entry.num_frames for _, entry in pairs)
            raise InputError(
                f"{origin}: no faces found in {frames} images/frames; "
                "use clips or photos with a clearly visible, roughly frontal face"
            )
    kept = []
    for item, entry in zip(items, entries):
        if entry.valid.any():
            kept.append(entry)
        else:
            log.warning("%s: no face found; left out of the cache", item.paths[0])
    return kept
