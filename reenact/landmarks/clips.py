"""A clip tracked once in video mode and aligned per frame (decoded with PyAV): what `reenact eval`
(the lab) drives its renderers with and `reenact quantize` calibrates on.

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
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.tracker import NUM_LANDMARKS, FaceTracker, head_yaw_deg
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
    whole_landmarks, whole_landmarks_crop: (T',478,3) the same live track over the whole clip
    up to `eval.carried_frames` (T' >= T; the first T rows are `landmarks` / `landmarks_crop`),
    for the carried measures; None = the same as the window.
    """

    name: str
    path: Path
    fps: float
    landmarks: np.ndarray
    landmarks_crop: np.ndarray
    crops: np.ndarray
    valid: np.ndarray
    whole_landmarks: np.ndarray | None = None
    whole_landmarks_crop: np.ndarray | None = None

    def reference_index(self, wanted: int) -> int:
        """`wanted` if it has a face, else the first later (then earlier) frame with one."""
        good = np.flatnonzero(self.valid)
        later = good[good >= wanted]
        return int(later[0] if len(later) else good[-1])


def frames_to_read(max_frames: int, whole_frames: int) -> int:
    """How many frames a clip is read for both windows (0 = all): the longer of the two."""
    return 0 if max_frames == 0 or whole_frames == 0 else max(max_frames, whole_frames)


def track_clip(
    path: Path,
    name: str,
    config: Config,
    *,
    max_frames: int,
    whole_frames: int | None = None,
    bar=None,
) -> TrackedClip:
    """Decode, track (video mode), align and crop the first `max_frames` frames of a clip.

    whole_frames: also keep the landmarks (not the crops) of the clip's first `whole_frames`
    frames (0 = all; None = just the window), from the same one video-mode pass.
    Raises InputError naming the clip when it has no frame or no face at all.
    """
    size = config.renderer.size
    whole = max_frames if whole_frames is None else frames_to_read(max_frames, whole_frames)
    landmarks, landmarks_crop, crops, valid = [], [], [], []
    missing = np.full((NUM_POINTS, 3), np.nan, np.float32)
    with FaceTracker(config.tracker, static=False) as tracker:
        for index, image in enumerate(iter_frames(path, whole)):
            found = tracker.track_one(image)
            ok = found is not None and abs(head_yaw_deg(found)) <= config.tracker.max_yaw_deg
            alignment = compute_alignment(found, size) if ok else None
            landmarks.append(found.astype(np.float32) if ok else missing)
            landmarks_crop.append(alignment.landmarks_to_crop(found) if ok else missing)
            if max_frames == 0 or index < max_frames:
                crops.append(
                    alignment.crop_image(image) if ok else np.zeros((size, size, 3), np.uint8)
                )
                valid.append(ok)
            if bar is not None:
                bar.update(1)
    if not valid:
        raise InputError(f"{path}: the clip has no frames; check the file")
    if not any(valid):
        raise InputError(f"{path}: no face found in any frame; use a clip with a visible face")
    window = len(valid)
    return TrackedClip(
        name=name,
        path=path,
        fps=clip_fps(path),
        landmarks=np.stack(landmarks[:window]),
        landmarks_crop=np.stack(landmarks_crop[:window]),
        crops=np.stack(crops),
        valid=np.array(valid),
        whole_landmarks=np.stack(landmarks),
        whole_landmarks_crop=np.stack(landmarks_crop),
    )
