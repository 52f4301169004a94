"""Clips for the evaluation: decoded with PyAV, tracked once in video mode, aligned per frame.

The same tracking as the live path (`FaceTracker(static=False)` from the first frame, frames whose
head turns beyond `tracker.max_yaw_deg` count as no face), without smoothing: these are the raw
driver landmarks and the ground-truth crops of self-reenactment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reenact.config import Config
from reenact.errors import InputError
from reenact.landmarks.tracker import NUM_LANDMARKS
from reenact.video import clip_fps, read_frames

NUM_POINTS = NUM_LANDMARKS


def iter_frames(path: Path, max_frames: int) -> Iterator[np.ndarray]:
    """The clip's first `max_frames` frames (0 = all), upright, as (H,W,3) uint8 RGB."""
    return read_frames(path, max_frames)


@dataclass
class TrackedClip:
    """One clip, tracked. T frames; S the crop side.

    landmarks: (T,478,3) float32 image pixels (NaN where no usable face).
    landmarks_crop: (T,478,3) float32 pixels of each frame's own aligned crop (NaN likewise).
    crops: (T,S,S,3) uint8 aligned crops (zeros where no face). valid: (T,) bool.
    """

    name: str
    path: Path
    fps: float
    landmarks: np.ndarray
    landmarks_crop: np.ndarray
    crops: np.ndarray
    valid: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(len(self.valid))

    def reference_index(self, wanted: int) -> int:
        """`wanted` if it has a face, else the first later (then earlier) frame with one."""
        good = np.flatnonzero(self.valid)
        later = good[good >= wanted]
        return int(later[0] if len(later) else good[-1])


def track_clip(path: Path, name: str, config: Config, *, max_frames: int, bar=None) -> TrackedClip:
    """Decode, track (video mode), align and crop the first `max_frames` frames of a clip.

    Raises InputError naming the clip when it has no frame or no face at all.
    """
    from reenact.landmarks.align import compute_alignment
    from reenact.landmarks.tracker import FaceTracker, head_yaw_deg

    size = config.renderer.size
    landmarks, landmarks_crop, crops, valid = [], [], [], []
    missing = np.full((NUM_POINTS, 3), np.nan, np.float32)
    with FaceTracker(config.tracker, static=False) as tracker:
        for image in iter_frames(path, max_frames):
            found = tracker.track_one(image)
            ok = found is not None and abs(head_yaw_deg(found)) <= config.tracker.max_yaw_deg
            if ok:
                alignment = compute_alignment(found, size)
                crops.append(alignment.crop_image(image))
                landmarks.append(found.astype(np.float32))
                landmarks_crop.append(alignment.landmarks_to_crop(found))
            else:
                crops.append(np.zeros((size, size, 3), np.uint8))
                landmarks.append(missing)
                landmarks_crop.append(missing)
            valid.append(ok)
            if bar is not None:
                bar.update(1)
    if not valid:
        raise InputError(f"{path}: the clip has no frames; check the file")
    if not any(valid):
        raise InputError(f"{path}: no face found in any frame; use a clip with a visible face")
    return TrackedClip(
        name=name, path=path, fps=clip_fps(path), landmarks=np.stack(landmarks),
        landmarks_crop=np.stack(landmarks_crop), crops=np.stack(crops), valid=np.array(valid),
    )


def pick_spread(indices: np.ndarray, scores: np.ndarray, count: int) -> list[int]:
    """`count` frames spread over time: the highest-scoring frame of each of `count` equal parts.

    indices: (N,) frame indices in order; scores: (N,) e.g. how far the face is from neutral.
    """
    if len(indices) == 0 or count <= 0:
        return []
    parts = np.array_split(np.arange(len(indices)), min(count, len(indices)))
    return [int(indices[part[int(np.argmax(scores[part]))]]) for part in parts if len(part)]


def deviation(landmarks: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Mean xy distance of each frame's landmarks from `reference`: (N,478,3), (478,3) -> (N,)."""
    return np.linalg.norm(landmarks[..., :2] - reference[:, :2], axis=-1).mean(axis=-1)
