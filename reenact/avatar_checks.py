"""The checks `reenact.avatar.read_avatar` makes on an avatar file's zip directory and members.

Each takes the name errors give (`shown`) and a member's bytes or the zip's directory, and
returns the member read or raises one InputError line; none reads more than a member declares.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from functools import cache
from pathlib import Path, PurePosixPath

import numpy as np
import safetensors.numpy

from reenact.errors import InputError

FORMAT = "reenact-avatar"
VERSION = 1

MANIFEST, PICTURE, NEUTRAL = "manifest.json", "picture.png", "neutral.npy"
ONNX, WEIGHTS = "generator.onnx", "generator.safetensors"
INT8 = "generator.int8.onnx"
BANK, BANK_LANDMARKS = "face_bank.npy", "face_bank_landmarks.npy"
REQUIRED = (MANIFEST, PICTURE, ONNX, WEIGHTS)
MEMBERS = (*REQUIRED, NEUTRAL, INT8, BANK, BANK_LANDMARKS)

MIB = 1 << 20
# the shipped 256 generator makes a file of about 20 MiB; four times that is no avatar
MAX_FILE_BYTES = 64 * MIB
# per member, declared (uncompressed) size: a zip bomb is refused before it is inflated
MAX_MEMBER_BYTES = {
    MANIFEST: 1 * MIB,
    PICTURE: 48 * MIB,
    NEUTRAL: 64 * 1024,
    ONNX: 96 * MIB,
    WEIGHTS: 48 * MIB,
    INT8: 32 * MIB,
    BANK: 80 * MIB,
    BANK_LANDMARKS: 1 * MIB,
}
MAX_BANK = 96  # frames in a face bank (`reenact.render.face_bank`)
MAX_TOTAL_BYTES = 160 * MIB
MAX_PICTURE_SIDE = 4096  # px, the tracker's own upper bound on a target picture
NEUTRAL_SHAPE = (478, 3)
# the weights' metadata that fixes the architecture: must equal the shipped generator's
ARCH_KEYS = ("arch", "variant", "ngf", "in_channels", "out_channels", "size")
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".bin", ".joblib", ".npz")
_MODELS_DIR = Path(__file__).resolve().parent / "models"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_directory(shown: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Names and declared sizes, from the zip's directory alone (nothing inflated yet)."""
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        pure = PurePosixPath(name.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or "\\" in name or ":" in name:
            raise InputError(f"{shown}: refused: member '{name}' points outside the archive")
        if pure.suffix.lower() in _PICKLE_SUFFIXES or "pickle" in name.lower():
            raise InputError(
                f"{shown}: refused: member '{name}' looks like a pickle, which reenact never "
                "loads (unpickling runs code)"
            )
        if name in seen:
            raise InputError(f"{shown}: refused: member '{name}' appears twice")
        seen.add(name)
    if MANIFEST not in seen:
        raise InputError(f"{shown}: not a reenact avatar (a zip without {MANIFEST})")
    extra = sorted(seen - set(MEMBERS))
    if extra:
        raise InputError(f"{shown}: refused: unexpected member(s) {', '.join(extra)}")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise InputError(f"{shown}: refused: member '{info.filename}' is encrypted")
        limit = MAX_MEMBER_BYTES[info.filename]
        if info.file_size > limit:
            raise InputError(
                f"{shown}: refused: member '{info.filename}' inflates to "
                f"{info.file_size / MIB:.1f} MiB (the limit is {limit / MIB:g} MiB)"
            )
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise InputError(
            f"{shown}: refused: its members inflate to {total / MIB:.1f} MiB (the limit is "
            f"{MAX_TOTAL_BYTES // MIB} MiB)"
        )


def member_bytes(archive: zipfile.ZipFile, shown: Path, name: str) -> bytes:
    """A member's bytes, never more than its declared size; its CRC checked by zipfile."""
    info = archive.getinfo(name)
    with archive.open(info) as handle:
        data = handle.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise InputError(f"{shown}: damaged avatar file ({name} is not the size it declares)")
    return data


def parse_manifest(shown: Path, data: bytes) -> dict:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{shown}: its {MANIFEST} is not JSON ({first_line(exc)})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{shown}: not a reenact avatar (its {MANIFEST} has no format '{FORMAT}')")
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(f"{shown}: its {MANIFEST} has no valid version ({version!r})")
    if version > VERSION:
        raise InputError(
            f"{shown}: avatar format version {version} is newer than this reenact reads "
            f"({VERSION}); upgrade reenact"
        )
    crop = manifest.get("crop_size")
    if not isinstance(crop, int) or isinstance(crop, bool) or crop not in (256, 512):
        raise InputError(f"{shown}: its {MANIFEST} has no valid crop_size ({crop!r})")
    return manifest


def parse_picture(shown: Path, data: bytes) -> np.ndarray:
    from reenact.imageio import decode_image, image_size

    name = f"{shown} ({PICTURE})"
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise InputError(f"{shown}: its {PICTURE} is not a PNG image")
    size = image_size(data, name)
    if size is None or max(size) > MAX_PICTURE_SIDE or min(size) < 1:
        raise InputError(
            f"{shown}: its {PICTURE} has no usable size ({size}; at most "
            f"{MAX_PICTURE_SIDE} px a side)"
        )
    return decode_image(data, name=name, max_side=MAX_PICTURE_SIDE)


def _load_npy(shown: Path, name: str, data: bytes) -> np.ndarray:
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:  # object arrays (pickles) are refused here
        raise InputError(f"{shown}: its {name} is refused ({first_line(exc)})") from None


def parse_neutral(shown: Path, data: bytes) -> np.ndarray:
    neutral = _load_npy(shown, NEUTRAL, data)
    if (
        not isinstance(neutral, np.ndarray)
        or neutral.shape != NEUTRAL_SHAPE
        or not np.issubdtype(neutral.dtype, np.floating)
    ):
        raise InputError(f"{shown}: its {NEUTRAL} is not (478, 3) floats")
    if not np.isfinite(neutral).all():
        raise InputError(f"{shown}: its {NEUTRAL} holds NaN or infinite values")
    return neutral.astype(np.float32)


def parse_bank(
    shown: Path, crops: bytes, landmarks: bytes, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The face bank's (K,S,S,3) uint8 crops and (K,478,3) float32 landmarks, checked."""
    frames = _load_npy(shown, BANK, crops)
    points = _load_npy(shown, BANK_LANDMARKS, landmarks)
    count = frames.shape[0] if frames.ndim == 4 else 0
    if frames.dtype != np.uint8 or frames.shape[1:] != (size, size, 3) or not 0 < count <= MAX_BANK:
        raise InputError(
            f"{shown}: its {BANK} is not 1 to {MAX_BANK} uint8 crops of {size} x {size} x 3"
        )
    if points.shape != (count, *NEUTRAL_SHAPE) or not np.issubdtype(points.dtype, np.floating):
        raise InputError(f"{shown}: its {BANK_LANDMARKS} is not ({count}, 478, 3) floats")
    if not np.isfinite(points).all():
        raise InputError(f"{shown}: its {BANK_LANDMARKS} holds NaN or infinite values")
    return frames, points.astype(np.float32)


def parse_weights(shown: Path, data: bytes) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The generator's tensors and metadata, checked against the shipped generator's."""
    meta = _safetensors_meta(shown, data)
    try:
        tensors = safetensors.numpy.load(data)
    except Exception as exc:  # safetensors raises its own error types
        raise InputError(f"{shown}: its {WEIGHTS} is damaged ({first_line(exc)})") from None
    size = meta.get("size", "?")
    shipped = shipped_layout(str(size))
    if shipped is None:
        raise InputError(f"{shown}: no shipped generator of size {size} to check it against")
    want_meta, shapes = shipped
    wrong = [k for k in ARCH_KEYS if meta.get(k) != want_meta.get(k)]
    if wrong:
        got = " ".join(f"{k}={meta.get(k, '?')}" for k in wrong)
        want = " ".join(f"{k}={want_meta.get(k, '?')}" for k in wrong)
        raise InputError(f"{shown}: its generator is {got}, the shipped one {want}")
    problems = [f"missing {k}" for k in shapes if k not in tensors][:3]
    problems += [f"unexpected {k}" for k in tensors if k not in shapes][:3]
    problems += [
        f"{k} is {tuple(v.shape)}, expected {shapes[k]}"
        for k, v in tensors.items()
        if k in shapes and tuple(v.shape) != shapes[k]
    ][:3]
    if problems:
        raise InputError(
            f"{shown}: its generator does not fit the shipped architecture ({'; '.join(problems)})"
        )
    for key, value in tensors.items():
        if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
            raise InputError(f"{shown}: its generator's {key} holds NaN or infinite values")
    return tensors, meta


def _safetensors_meta(shown: Path, data: bytes) -> dict[str, str]:
    if len(data) < 8:
        raise InputError(f"{shown}: its {WEIGHTS} is truncated")
    (length,) = struct.unpack("<Q", data[:8])
    if length > len(data) - 8:
        raise InputError(f"{shown}: its {WEIGHTS} is truncated")
    try:
        header = json.loads(data[8 : 8 + length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"{shown}: its {WEIGHTS} is not a safetensors file") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict):
        raise InputError(f"{shown}: its {WEIGHTS} has no generator metadata")
    return {str(k): str(v) for k, v in meta.items()}


@cache
def shipped_layout(size: str) -> tuple[dict[str, str], dict[str, tuple[int, ...]]] | None:
    """(metadata, {key: shape}) of the shipped generator of `size`, from its header alone."""
    path = _MODELS_DIR / f"generator_{size}.safetensors"
    if not path.is_file():
        return None
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    meta = header.pop("__metadata__", {})
    return meta, {k: tuple(v["shape"]) for k, v in header.items()}
