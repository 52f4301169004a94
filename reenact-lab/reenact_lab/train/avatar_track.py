"""Tracking a person's clips for an avatar: aligned crops and landmarks of one face, cached.

Each clip is read through `reenact.video` and every `stride`-th frame (about TRACK_FPS frames a
second: a 60 s clip costs ~600 tracked frames, not 1,500) goes through the MediaPipe tracker,
asked for two faces so that a clip of several people is seen and refused. The largest face is
aligned to the canonical crop (`reenact.landmarks.align`). A tracked clip is cached in the user
cache folder by the clip's sha256 and the settings, so training again skips the tracking.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from reenact.atomic import write_atomic
from reenact.config import Config
from reenact.errors import InputError
from reenact_lab import get_logger
from reenact_lab.train.avatar_data import AvatarClip, decode_clip, encode_clip

log = get_logger(__name__)

TRACK_FPS = 10.0  # frames a second tracked: neighbouring frames at 25-30 fps add little
TWO_FACES_SHARE = 0.2  # a second face in this share of the frames with a face: several people
MIN_FACE_FRAMES = 8  # fewer frames with a face than this cannot train nor validate anything
MIN_FACE_SHARE = 0.25  # a face in fewer of the tracked frames: the clip has no usable face
TRACK_VERSION = 1  # bump when what is cached changes


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class _Counts:
    """What tracking saw: frames read, frames with a face, frames with two faces."""

    tracked: int = 0
    faces: int = 0
    two: int = 0


def _track_frames(path: Path, config: Config, size: int, stride: int):
    """(crops, landmarks, frame indices, counts) of the largest face in every stride-th frame."""
    from reenact.landmarks.align import compute_alignment
    from reenact.landmarks.tracker import FaceTracker, head_yaw_deg
    from reenact.video import read_frames

    tracker_config = replace(config.tracker, max_faces=2, face_index=-1)
    crops, landmarks, indices, counts = [], [], [], _Counts()
    with FaceTracker(tracker_config, static=False) as tracker:
        for index, image in enumerate(read_frames(path)):
            if index % stride:
                continue
            counts.tracked += 1
            faces = tracker.track(image)
            counts.two += len(faces) >= 2
            if not faces or abs(head_yaw_deg(faces[0])) > config.tracker.max_yaw_deg:
                continue
            counts.faces += 1
            align = compute_alignment(faces[0], size)
            crops.append(align.crop_image(image))
            landmarks.append(align.landmarks_to_crop(faces[0]).astype(np.float32))
            indices.append(index)
    return crops, landmarks, indices, counts


def _refuse(path: Path, counts: _Counts) -> None:
    """One line when the clip shows several people or no usable face."""
    if counts.faces and counts.two >= TWO_FACES_SHARE * counts.faces:
        raise InputError(
            f"{path}: two faces in {counts.two} of {counts.tracked} frames; an avatar learns one "
            "person: use clips that show only that person"
        )
    if counts.faces < max(MIN_FACE_FRAMES, MIN_FACE_SHARE * counts.tracked):
        raise InputError(
            f"{path}: a usable face in only {counts.faces} of {counts.tracked} frames; use a "
            "clip of one roughly frontal face, well lit, filling a good part of the picture"
        )


def track_clip(path: str | Path, config: Config, *, size: int, cache: Path | None) -> AvatarClip:
    """The clip's tracked frames at crop side `size` (read from `cache` when tracked before)."""
    from reenact.video import clip_fps

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: video not found")
    fps = clip_fps(path)
    stride = max(1, round(fps / TRACK_FPS))
    sha = file_sha256(path)
    key = f"{sha[:24]}_s{size}_k{stride}_y{config.tracker.max_yaw_deg:g}_v{TRACK_VERSION}"
    cached = cache / f"{key}.npz" if cache is not None else None
    if cached is not None and cached.is_file():
        try:
            return replace(decode_clip(np.load(cached, allow_pickle=False)), name=path.stem)
        except (OSError, ValueError, KeyError, InputError) as exc:
            log.warning("%s: tracking cache unreadable (%s); tracking again", cached, exc)
    crops, landmarks, indices, counts = _track_frames(path, config, size, stride)
    _refuse(path, counts)
    clip = AvatarClip(
        name=path.stem,
        source=str(path),
        sha256=sha,
        fps=fps,
        frames=_frame_count(path, indices),
        crops=np.stack(crops),
        landmarks=np.stack(landmarks),
        frame_index=np.asarray(indices, np.int32),
    )
    arrays = encode_clip(clip)
    if cached is not None:
        _save_cache(cached, arrays)
    return decode_clip(arrays)


def _frame_count(path: Path, indices: list[int]) -> int:
    from reenact.video import VideoReader

    try:
        with VideoReader(path) as reader:
            return max(int(reader.frame_count), indices[-1] + 1)
    except InputError:
        return indices[-1] + 1


def _save_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, buffer.getvalue())
    except OSError as exc:
        log.warning("tracking not cached at %s (%s)", path, exc)
