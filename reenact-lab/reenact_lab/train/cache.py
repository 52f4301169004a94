"""The prepared-data cache: aligned crops + landmarks per clip / identity (docs/DATA.md).

A cache folder holds `index.json` and, per entry (one clip, frame sequence or still group):

    <name>.npz   landmarks (N,478,3) float32 aligned crop pixels (NaN where no face),
                 valid (N,) bool, frame_index (N,) int32, frame_names (N,) str,
                 expression (N,) str ("" unknown), variant (N,) str, alignment (N,2,3) float32
                 (image -> crop), and 0-d fields name, identity, kind, source, source_stamp,
                 fps, size, reference (the neutral frame), crops_format;
                 with crops_format "npz" also crops (N,S,S,3) uint8 RGB.
    <name>.mp4   with crops_format "mp4": the N aligned crops as H.264 (yuv444p), frame i = row i.

Everything loads with `numpy.load(allow_pickle=False)`; mp4 crops decode with PyAV, or with
OpenCV where PyAV is missing (a GPU box with torch + opencv + numpy only). Files are written to a
temporary name and renamed when complete.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from reenact.atomic import write_atomic
from reenact.errors import InputError

CACHE_VERSION = 1
INDEX_NAME = "index.json"
CROPS_FORMATS = ("mp4", "npz")
_SCALARS = (
    "name",
    "identity",
    "kind",
    "source",
    "source_stamp",
    "fps",
    "size",
    "reference",
    "crops_format",
)


# the compact carry copy's landmarks (`reenact_lab.train.carry`), which `read_entry` reads back
Q_SCALE = 64.0  # landmarks_q units per crop pixel
Q_NONE = 65535  # landmarks_q where no face


def quantise_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """(N,478,3) float crop pixels (NaN = no face) -> (N,478,2) uint16 (`reenact_lab.train.carry`)."""
    xy = np.asarray(landmarks, np.float32)[..., :2] * Q_SCALE
    q = np.clip(np.nan_to_num(xy, nan=-1.0).round(), 0, Q_NONE - 1).astype(np.uint16)
    q[np.isnan(xy)] = Q_NONE
    return q


def dequantise_landmarks(q: np.ndarray) -> np.ndarray:
    """(N,478,2) uint16 -> (N,478,3) float32 crop pixels, z = 0, NaN where no face."""
    xy = q.astype(np.float32) / np.float32(Q_SCALE)
    xy[q == Q_NONE] = np.nan
    z = np.where(np.isnan(xy[..., :1]), np.float32(np.nan), np.float32(0.0))
    return np.concatenate([xy, z], axis=-1)


@dataclass
class CacheEntry:
    """One prepared clip / sequence / still group. Arrays as in the module docstring.

    `crops` is None until `load_crops()` (mp4 decoding is the slow part).
    """

    name: str
    identity: str
    kind: str
    source: str
    source_stamp: str
    fps: float
    size: int
    reference: int
    crops_format: str
    landmarks: np.ndarray
    valid: np.ndarray
    frame_index: np.ndarray
    frame_names: np.ndarray
    expression: np.ndarray
    variant: np.ndarray
    alignment: np.ndarray
    folder: Path = field(default=Path("."))
    crops: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return int(self.valid.shape[0])

    @property
    def valid_indices(self) -> np.ndarray:
        """(V,) int64 indices of the frames with a face."""
        return np.flatnonzero(self.valid)

    @property
    def landmarks_path(self) -> Path:
        return self.folder / f"{self.name}.npz"

    @property
    def crops_path(self) -> Path:
        return self.folder / f"{self.name}.{'mp4' if self.crops_format == 'mp4' else 'npz'}"

    def load_crops(self) -> np.ndarray:
        """(N,S,S,3) uint8 RGB aligned crops (decoded once, then kept)."""
        if self.crops is None:
            if self.crops_format == "mp4":
                self.crops = decode_crops(self.crops_path, self.num_frames, self.size)
            else:
                self.crops = _read_npz(self.crops_path, ("crops",))["crops"]
            if self.crops.shape != (self.num_frames, self.size, self.size, 3):
                raise InputError(
                    f"{self.crops_path}: crops have shape {self.crops.shape}, expected "
                    f"({self.num_frames},{self.size},{self.size},3); re-run `reenact prepare`"
                )
        return self.crops


def entry_arrays(entry: CacheEntry) -> dict[str, np.ndarray]:
    arrays = {
        "landmarks": entry.landmarks.astype(np.float32),
        "valid": entry.valid.astype(bool),
        "frame_index": entry.frame_index.astype(np.int32),
        "frame_names": np.asarray(entry.frame_names, dtype=str),
        "expression": np.asarray(entry.expression, dtype=str),
        "variant": np.asarray(entry.variant, dtype=str),
        "alignment": entry.alignment.astype(np.float32),
        "format_version": np.asarray(CACHE_VERSION),
    }
    for key in _SCALARS:
        arrays[key] = np.asarray(getattr(entry, key))
    return arrays


def write_entry(folder: Path, entry: CacheEntry, crops: np.ndarray, *, crf: int = 17) -> CacheEntry:
    """Write `entry` (and its (N,S,S,3) uint8 crops) into `folder`; returns it bound to `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    entry.folder = folder
    arrays = entry_arrays(entry)
    if entry.crops_format == "npz":
        arrays["crops"] = np.ascontiguousarray(crops, dtype=np.uint8)
    else:
        encode_crops(entry.crops_path, crops, fps=entry.fps or 25.0, crf=crf)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_atomic(entry.landmarks_path, buffer.getvalue())
    return entry


def _read_npz(path: Path, required: tuple[str, ...]) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in required if k not in data.files]
            if missing:
                raise InputError(
                    f"{path}: not a prepared cache file (missing "
                    f"{', '.join(missing)}); re-run `reenact prepare`"
                )
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise InputError(f"{path}: cache file missing; re-run `reenact prepare`") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"{path}: truncated or corrupt cache file ({detail}); re-run `reenact prepare`"
        ) from None


def read_entry(path: Path) -> CacheEntry:
    """Read one entry's landmarks file (`<name>.npz`); crops stay on disk until load_crops()."""
    data = _read_npz(path, ("valid", *_SCALARS))
    if "landmarks" not in data:  # the compact carry copy (reenact_lab.train.carry)
        if "landmarks_q" not in data:
            raise InputError(
                f"{path}: not a prepared cache file (missing landmarks); re-run `reenact prepare`"
            )
        data["landmarks"] = dequantise_landmarks(data.pop("landmarks_q"))
    version = int(data.get("format_version", np.asarray(0)))
    if version != CACHE_VERSION:
        raise InputError(
            f"{path}: cache format {version}, expected {CACHE_VERSION}; re-run `reenact prepare`"
        )
    scalars = {k: data[k].item() for k in _SCALARS}
    n = data["valid"].shape[0]
    entry = CacheEntry(
        **{k: str(v) if isinstance(v, str) else v for k, v in scalars.items()},
        landmarks=data["landmarks"],
        valid=data["valid"].astype(bool),
        frame_index=data.get("frame_index", np.arange(n, dtype=np.int32)),
        frame_names=data.get("frame_names", np.full(n, "")),
        expression=data.get("expression", np.full(n, "")),
        variant=data.get("variant", np.full(n, "")),
        alignment=data.get("alignment", np.zeros((n, 2, 3), np.float32)),
        folder=path.parent,
        crops=data.get("crops"),
    )
    entry.size, entry.reference = int(entry.size), int(entry.reference)
    entry.fps = float(entry.fps)
    if entry.landmarks.shape != (n, 478, 3):
        raise InputError(
            f"{path}: landmarks have shape {entry.landmarks.shape}, expected "
            f"({n},478,3); re-run `reenact prepare`"
        )
    return entry


def write_index(folder: Path, entries: list[CacheEntry], size: int) -> Path:
    """index.json: the cache's version, crop size and a summary line per entry."""
    index = {
        "format_version": CACHE_VERSION,
        "size": size,
        "entries": [
            {
                "name": e.name,
                "identity": e.identity,
                "kind": e.kind,
                "source": e.source,
                "frames": e.num_frames,
                "valid": int(e.valid.sum()),
                "crops": e.crops_path.name,
                "crops_format": e.crops_format,
            }
            for e in entries
        ],
    }
    path = folder / INDEX_NAME
    write_atomic(path, (json.dumps(index, indent=1) + "\n").encode())
    return path


def is_cache(folder: Path) -> bool:
    return (Path(folder) / INDEX_NAME).is_file()


def read_cache(folder: Path) -> list[CacheEntry]:
    """Every entry listed in `folder/index.json` (landmarks loaded, crops not yet)."""
    folder = Path(folder)
    path = folder / INDEX_NAME
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{folder}: not a prepared cache (no {INDEX_NAME}); run `reenact prepare`"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{path}: unreadable cache index ({exc}); re-run `reenact prepare`"
        ) from None
    if index.get("format_version") != CACHE_VERSION:
        raise InputError(
            f"{path}: cache format {index.get('format_version')}, expected "
            f"{CACHE_VERSION}; re-run `reenact prepare`"
        )
    return [read_entry(folder / f"{item['name']}.npz") for item in index.get("entries", [])]


# ----- crops as H.264 ----------------------------------------------------------------------------


def encode_crops(
    path: Path, crops: np.ndarray, *, fps: float, crf: int, pix_fmt: str = "yuv444p"
) -> None:
    """(N,S,S,3) uint8 RGB -> H.264 mp4 (yuv444p: no chroma subsampling of the targets; the
    carry copy uses yuv420p, half the size)."""
    import av  # only `prepare` writes mp4 crops

    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            stream.width = stream.height = int(crops.shape[1])
            stream.pix_fmt = pix_fmt
            stream.options = {"crf": str(crf), "preset": "medium"}
            for crop in crops:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(crop), format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def decode_crops(path: Path, count: int, size: int) -> np.ndarray:
    """The mp4 crops of an entry: (count,S,S,3) uint8 RGB. PyAV, else OpenCV."""
    if not path.is_file():
        raise InputError(f"{path}: crops video missing; re-run `reenact prepare`")
    try:
        frames = _decode_pyav(path)
    except ImportError:
        frames = _decode_cv2(path)
    if len(frames) != count:
        raise InputError(
            f"{path}: {len(frames)} frames decoded, expected {count} (truncated?); "
            "re-run `reenact prepare`"
        )
    stack = np.stack(frames) if frames else np.zeros((0, size, size, 3), np.uint8)
    return stack


def _decode_pyav(path: Path) -> list[np.ndarray]:
    from reenact import video  # PyAV loads FFmpeg

    if video.av is None:
        raise ImportError("PyAV is not installed")  # the caller decodes with OpenCV
    try:
        return list(video.read_frames(path))
    except InputError as exc:
        raise InputError(f"{path}: cannot decode crops ({exc}); re-run `reenact prepare`") from None


def _decode_cv2(path: Path) -> list[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        capture.release()
    return frames
