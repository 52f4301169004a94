"""An avatar's training data: each clip's aligned crops and landmarks, its time split, the
picture, and the compact prepared folder that carries it all to another machine.

Numpy and OpenCV only (no MediaPipe, no PyAV, no torch): `reenact avatar train --from-prepared`
reads it on a GPU machine that has neither.

    clip:      crops (N,S,S,3) uint8 RGB, landmarks (N,478,3) float32 crop pixels,
               frame_index (N,) int32 (the clip's frame of each row), fps, frames, sha256
    prepared:  DIR/avatar_data.npz: per clip its crops as JPEG bytes (one uint8 buffer and
               offsets), landmarks as uint16 at 1/64 px (+ z as float16); the picture as PNG
               bytes and its neutral (478,3) float32; DIR/avatar_data.json: names, hashes, splits.

The last VAL_SHARE of each clip (by time) is held out for validation: the frames that follow
the training ones, as a person's next recording would.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from reenact.atomic import write_atomic
from reenact.errors import InputError
from reenact_lab.train.cache import dequantise_landmarks, quantise_landmarks

VAL_SHARE = 0.2  # the tail of each clip (by time) held out for validation
JPEG_QUALITY = 92  # crops carried as JPEG: ~15 KB a 256 crop, artefacts under the warp's error
DATA_NAME, META_NAME = "avatar_data.npz", "avatar_data.json"
PREPARED_VERSION = 1


@dataclass
class AvatarClip:
    """One clip's tracked frames (arrays as in the module docstring)."""

    name: str
    source: str
    sha256: str
    fps: float
    frames: int
    crops: np.ndarray
    landmarks: np.ndarray
    frame_index: np.ndarray
    jpegs: tuple[np.ndarray, np.ndarray] | None = None  # the crops as read, carried unchanged

    @property
    def seconds(self) -> float:
        return self.frames / max(self.fps, 1e-6)

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """(train rows, validation rows): rows whose time is in the last VAL_SHARE of the clip
        validate (at least one row each side when the clip has two or more)."""
        cut = (1.0 - VAL_SHARE) * self.frames
        val = np.flatnonzero(self.frame_index >= cut)
        if len(val) == len(self.frame_index) or not len(val):
            val = np.arange(len(self.frame_index))[-max(1, len(self.frame_index) // 5) :]
        train = np.setdiff1d(np.arange(len(self.frame_index)), val)
        return train, val

    def describe(self) -> dict:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "frames": int(self.frames),
            "seconds": round(self.seconds, 2),
            "tracked": int(len(self.frame_index)),
        }


@dataclass
class AvatarData:
    """The clips, the picture (H,W,3) uint8 RGB and its neutral (478,3) crop px (None: none);
    the picture's aligned crop (S,S,3) and landmarks (478,3) crop px (for a still fine-tune)."""

    clips: list[AvatarClip]
    size: int
    picture: np.ndarray
    neutral: np.ndarray | None
    picture_source: str = ""
    notes: list[str] = field(default_factory=list)
    picture_crop: np.ndarray | None = None
    picture_landmarks: np.ndarray | None = None


def neutral_row(landmarks: np.ndarray, rows: np.ndarray) -> int:
    """The most neutral of `rows`: the frame nearest (mean point distance) the median face of
    those frames, a talking person's face at rest."""
    xy = landmarks[rows, :, :2]
    median = np.median(xy, axis=0)
    return int(rows[int(np.argmin(np.linalg.norm(xy - median, axis=2).mean(axis=1)))])


def _encode_jpegs(crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    blobs = []
    for crop in crops:
        ok, buf = cv2.imencode(".jpg", crop[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise InputError("could not JPEG-encode a crop")
        blobs.append(buf.reshape(-1))
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    return np.concatenate(blobs).astype(np.uint8), offsets


def _decode_jpegs(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    images = []
    for a, b in zip(offsets[:-1], offsets[1:]):
        image = cv2.imdecode(data[a:b], cv2.IMREAD_COLOR)
        if image is None:
            raise InputError("a carried crop is not a readable JPEG")
        images.append(image[:, :, ::-1])
    return np.ascontiguousarray(np.stack(images))


def encode_clip(clip: AvatarClip, prefix: str = "") -> dict[str, np.ndarray]:
    """The clip as numpy arrays (JPEG crops, quantised landmarks), keys prefixed."""
    jpegs, offsets = clip.jpegs or _encode_jpegs(clip.crops)
    head = {
        "name": clip.name,
        "source": clip.source,
        "sha256": clip.sha256,
        "fps": clip.fps,
        "frames": clip.frames,
    }
    return {
        f"{prefix}jpegs": jpegs,
        f"{prefix}offsets": offsets,
        f"{prefix}landmarks_q": quantise_landmarks(clip.landmarks),
        f"{prefix}z": clip.landmarks[..., 2].astype(np.float16),
        f"{prefix}frame_index": clip.frame_index.astype(np.int32),
        f"{prefix}head": np.asarray(json.dumps(head)),
    }


def decode_clip(arrays, prefix: str = "") -> AvatarClip:
    """`encode_clip`'s inverse (any mapping of arrays, e.g. a loaded npz)."""
    head = json.loads(str(arrays[f"{prefix}head"]))
    landmarks = dequantise_landmarks(arrays[f"{prefix}landmarks_q"])
    landmarks[..., 2] = arrays[f"{prefix}z"].astype(np.float32)
    jpegs = (arrays[f"{prefix}jpegs"], arrays[f"{prefix}offsets"])
    return AvatarClip(
        name=head["name"],
        source=head["source"],
        sha256=head["sha256"],
        fps=float(head["fps"]),
        frames=int(head["frames"]),
        crops=_decode_jpegs(*jpegs),
        landmarks=landmarks,
        frame_index=arrays[f"{prefix}frame_index"],
        jpegs=jpegs,
    )


def write_prepared(folder: str | Path, data: AvatarData) -> Path:
    """Write `data` into `folder` (each file whole or not at all); returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for i, clip in enumerate(data.clips):
        arrays.update(encode_clip(clip, f"c{i}_"))
    ok, png = cv2.imencode(".png", data.picture[:, :, ::-1])
    arrays["picture_png"] = np.asarray(png, np.uint8).reshape(-1)
    for key in ("neutral", "picture_crop", "picture_landmarks"):
        if getattr(data, key) is not None:
            arrays[key] = getattr(data, key)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_atomic(folder / DATA_NAME, buffer.getvalue())
    meta = {
        "version": PREPARED_VERSION,
        "size": data.size,
        "clips": len(data.clips),
        "picture_source": data.picture_source,
        "notes": data.notes,
        "described": [c.describe() for c in data.clips],
    }
    write_atomic(folder / META_NAME, json.dumps(meta, indent=1))
    return folder


def read_prepared(folder: str | Path) -> AvatarData:
    """The data `write_prepared` wrote; InputError naming the folder when it is not one."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / META_NAME).read_text())
        arrays = np.load(folder / DATA_NAME, allow_pickle=False)
        clips = [decode_clip(arrays, f"c{i}_") for i in range(int(meta["clips"]))]
        picture = cv2.imdecode(arrays["picture_png"], cv2.IMREAD_COLOR)[:, :, ::-1]
        extra = {
            k: arrays[k]
            for k in ("neutral", "picture_crop", "picture_landmarks")
            if k in arrays.files
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{folder}: not a prepared avatar folder ({exc}); make one with "
            "`reenact avatar train VIDEO ... --prepare-only DIR`"
        ) from None
    if int(meta.get("version", 0)) != PREPARED_VERSION:
        raise InputError(f"{folder}: prepared with another version of reenact; prepare again")
    return AvatarData(
        clips=clips,
        size=int(meta["size"]),
        picture=np.ascontiguousarray(picture),
        neutral=extra.get("neutral"),
        picture_source=meta.get("picture_source", ""),
        notes=list(meta.get("notes", [])),
        picture_crop=extra.get("picture_crop"),
        picture_landmarks=extra.get("picture_landmarks"),
    )
