"""What the evaluation reads of a tracked clip (`reenact.landmarks.clips.TrackedClip`): its
length, its whole live track, the frames its strips show, and a bar counting its frames.
"""

from __future__ import annotations

import numpy as np

from reenact.landmarks.clips import TrackedClip


def frame_bar(progress: bool, desc: str, total: int | None = None):
    """A tqdm bar on stderr counting frames; a silent one when not `progress`."""
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit="frame", disable=not progress, leave=False, dynamic_ncols=True
    )


def num_frames(clip: TrackedClip) -> int:
    """T, the frames of the clip's window (`clip.valid`'s length)."""
    return int(len(clip.valid))


def whole_crop(clip: TrackedClip) -> np.ndarray:
    """(T',478,3) the live track over the whole clip in crop pixels (the window's if none)."""
    return clip.landmarks_crop if clip.whole_landmarks_crop is None else clip.whole_landmarks_crop


def whole_frame(clip: TrackedClip) -> np.ndarray:
    """(T',478,3) the live track over the whole clip in frame pixels (the window's if none)."""
    return clip.landmarks if clip.whole_landmarks is None else clip.whole_landmarks


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
