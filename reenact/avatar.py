"""A personal avatar: one `.avatar` file that a user can move or share.

A zip (stdlib `zipfile`) with exactly these members:

    manifest.json          JSON: format "reenact-avatar", version, reenact_version, created, name,
                           crop_size, source_clips, frames, steps, device, minutes, validation, ...
    picture.png            the target picture, (H, W, 3) uint8 RGB
    neutral.npy            its prepared neutral, (478, 3) float32 aligned-crop pixels at crop_size
                           (absent when the avatar has none); read with allow_pickle=False
    generator.onnx         the personal generator as fp32 ONNX (ONNX Runtime on the CPU)
    generator.safetensors  the same generator as fp16 tensors (CUDA, training), with the shipped
                           generator's metadata keys

Reading never unpickles and never trusts the archive: the file's size and every member's declared
size are checked from the zip's directory before anything is read, each member's CRC is checked
as it is read, and the weights must have the shipped generator's architecture (keys and shapes).
Anything wrong is one InputError line naming the file. Torch-free: the CPU runtime reads avatars.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import struct
import zipfile
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import safetensors.numpy

from reenact.errors import InputError, ReenactError

AVATAR_SUFFIX = ".avatar"
FORMAT = "reenact-avatar"
VERSION = 1

MANIFEST, PICTURE, NEUTRAL = "manifest.json", "picture.png", "neutral.npy"
ONNX, WEIGHTS = "generator.onnx", "generator.safetensors"
REQUIRED = (MANIFEST, PICTURE, ONNX, WEIGHTS)
MEMBERS = (*REQUIRED, NEUTRAL)

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
}
MAX_TOTAL_BYTES = 160 * MIB
MAX_PICTURE_SIDE = 4096  # px, the tracker's own upper bound on a target picture
NEUTRAL_SHAPE = (478, 3)
# the weights' metadata that fixes the architecture: must equal the shipped generator's
ARCH_KEYS = ("arch", "variant", "ngf", "in_channels", "out_channels", "size")
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".bin", ".joblib", ".npz")
_MODELS_DIR = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True, eq=False)
class Avatar:
    """A read avatar (see the module docstring); compared and hashed by identity.

    picture: (H, W, 3) uint8 RGB; neutral: (478, 3) float32 aligned-crop pixels at
    manifest["crop_size"], or None; generator_onnx: fp32 ONNX bytes; generator_weights: the
    same generator's tensors (fp16 floats); generator_meta: their safetensors metadata.
    """

    path: Path
    manifest: dict
    picture: np.ndarray
    neutral: np.ndarray | None
    generator_onnx: bytes = field(repr=False)
    generator_weights: dict[str, np.ndarray] = field(repr=False)
    generator_meta: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def crop_size(self) -> int:
        return int(self.manifest["crop_size"])

    @cached_property
    def key(self) -> str:
        """A short digest of the generator's ONNX bytes: the same network, the same key."""
        import hashlib

        return hashlib.sha256(self.generator_onnx).hexdigest()[:16]


def is_avatar_path(path: str | os.PathLike[str] | None) -> bool:
    """Whether `path` names an avatar file (by its suffix; the file itself is not read)."""
    return bool(path) and Path(str(path)).suffix.lower() == AVATAR_SUFFIX


def score_line(manifest: dict) -> str:
    """'avatar, SSIM 0.781 vs warp 0.742' from the manifest's validation, or 'avatar'."""
    validation = manifest.get("validation")
    if not isinstance(validation, dict):
        return "avatar"
    personal, warp = validation.get("personal"), validation.get("warp")
    ssim = personal.get("ssim") if isinstance(personal, dict) else None
    if not isinstance(ssim, int | float):
        return "avatar"
    line = f"avatar, SSIM {ssim:.3f}"
    base = warp.get("ssim") if isinstance(warp, dict) else None
    return f"{line} vs warp {base:.3f}" if isinstance(base, int | float) else line


# -- writing ------------------------------------------------------------------------------------


def write_avatar(
    path: str | os.PathLike[str],
    *,
    picture: np.ndarray,
    neutral: np.ndarray | None,
    generator_onnx: bytes,
    generator_weights: dict[str, np.ndarray],
    generator_meta: dict[str, str],
    manifest: dict,
) -> Path:
    """Write an avatar file atomically (a partial file beside `path`, read back whole, then
    renamed over it); returns the path. The manifest is kept as given, with `format`,
    `version` and, when absent, `reenact_version`, `created`, `name` and `crop_size` added.
    InputError when the parts would make an avatar that `read_avatar` refuses."""
    from reenact import __version__
    from reenact.atomic import partial_beside

    path = Path(path)
    if path.suffix.lower() != AVATAR_SUFFIX:
        raise InputError(f"{path}: an avatar file's name ends in {AVATAR_SUFFIX}")
    meta = {str(k): str(v) for k, v in generator_meta.items()}
    manifest = {
        "reenact_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "name": path.stem,
        "crop_size": int(meta.get("size", 0)),
        **manifest,
        "format": FORMAT,
        "version": VERSION,
    }
    members = {
        MANIFEST: json.dumps(manifest, indent=1, sort_keys=True, default=_json_default).encode(),
        PICTURE: _encode_png(path, picture),
        ONNX: bytes(generator_onnx),
        # np.require, not ascontiguousarray: that one makes a 0-d counter (1,)
        WEIGHTS: safetensors.numpy.save(
            {k: np.require(v, requirements="C") for k, v in generator_weights.items()},
            metadata=meta,
        ),
    }
    if neutral is not None:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(neutral, dtype=np.float32), allow_pickle=False)
        members[NEUTRAL] = buffer.getvalue()
    fd, tmp = partial_beside(path)
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
            for name, data in members.items():
                # a PNG is compressed already; deflating it again only costs time
                method = zipfile.ZIP_STORED if name == PICTURE else zipfile.ZIP_DEFLATED
                # level 1: a fifth of level 6's time for 4 % more bytes on fp16-born floats
                archive.writestr(_entry(name), data, compress_type=method, compresslevel=1)
        read_avatar(tmp, shown_as=path)  # never leave a file behind that would be refused
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # same parts, same bytes
    info.external_attr = 0o644 << 16
    return info


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _encode_png(path: Path, picture: np.ndarray) -> bytes:
    import cv2

    picture = np.asarray(picture)
    if picture.dtype != np.uint8 or picture.ndim != 3 or picture.shape[2] != 3:
        raise InputError(
            f"{path}: the avatar's picture must be (H, W, 3) uint8 RGB, got "
            f"{picture.shape} {picture.dtype}"
        )
    ok, data = cv2.imencode(".png", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    if not ok:
        raise InputError(f"{path}: the avatar's picture could not be encoded as PNG")
    return data.tobytes()


# -- reading ------------------------------------------------------------------------------------


def read_avatar(path: str | os.PathLike[str], *, shown_as: Path | None = None) -> Avatar:
    """Read and check an avatar file; one InputError line naming it on anything wrong.
    shown_as: the name errors give (a partial file being checked before its rename)."""
    path = Path(path)
    shown = shown_as or path
    try:
        return _read(path, shown)
    except ReenactError as exc:
        raise InputError(str(exc)) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        raise InputError(f"{shown}: damaged avatar file ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read(path: Path, shown: Path) -> Avatar:
    if not path.is_file():
        raise InputError(f"{shown}: avatar file not found; check the path")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputError(
            f"{shown}: too large for an avatar ({size / MIB:.1f} MiB; the limit is "
            f"{MAX_FILE_BYTES // MIB} MiB)"
        )
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as handle:
            zip_start = handle.read(4) == b"PK\x03\x04"
        if zip_start:  # a zip's start without its directory: cut short
            raise InputError(f"{shown}: truncated avatar file (no zip directory); copy it again")
        raise InputError(f"{shown}: not an avatar file (not a zip archive)")
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        _check_directory(shown, infos)
        manifest = _manifest(shown, _member(archive, shown, MANIFEST))
        names = {i.filename for i in infos}
        missing = [m for m in REQUIRED if m not in names]
        if missing:
            raise InputError(f"{shown}: not a whole avatar (missing {', '.join(missing)})")
        picture = _picture(shown, _member(archive, shown, PICTURE))
        neutral = _neutral(shown, _member(archive, shown, NEUTRAL)) if NEUTRAL in names else None
        onnx = _member(archive, shown, ONNX)
        weights, meta = _weights(shown, _member(archive, shown, WEIGHTS))
    if not onnx.startswith(b"\x08"):  # an ONNX ModelProto opens with its ir_version field
        raise InputError(f"{shown}: its {ONNX} is not an ONNX model")
    if int(manifest["crop_size"]) != int(meta["size"]):
        raise InputError(
            f"{shown}: its manifest says crop_size {manifest['crop_size']}, its generator "
            f"is for {meta['size']}"
        )
    return Avatar(path, manifest, picture, neutral, onnx, weights, meta)


def _check_directory(shown: Path, infos: list[zipfile.ZipInfo]) -> None:
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


def _member(archive: zipfile.ZipFile, shown: Path, name: str) -> bytes:
    """A member's bytes, never more than its declared size; its CRC checked by zipfile."""
    info = archive.getinfo(name)
    with archive.open(info) as handle:
        data = handle.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise InputError(f"{shown}: damaged avatar file ({name} is not the size it declares)")
    return data


def _manifest(shown: Path, data: bytes) -> dict:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{shown}: its {MANIFEST} is not JSON ({_first_line(exc)})") from None
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


def _picture(shown: Path, data: bytes) -> np.ndarray:
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


def _neutral(shown: Path, data: bytes) -> np.ndarray:
    try:
        neutral = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:  # object arrays (pickles) are refused here
        raise InputError(f"{shown}: its {NEUTRAL} is refused ({_first_line(exc)})") from None
    if (
        not isinstance(neutral, np.ndarray)
        or neutral.shape != NEUTRAL_SHAPE
        or not np.issubdtype(neutral.dtype, np.floating)
    ):
        raise InputError(f"{shown}: its {NEUTRAL} is not (478, 3) floats")
    if not np.isfinite(neutral).all():
        raise InputError(f"{shown}: its {NEUTRAL} holds NaN or infinite values")
    return neutral.astype(np.float32)


def _weights(shown: Path, data: bytes) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The generator's tensors and metadata, checked against the shipped generator's."""
    meta = _safetensors_meta(shown, data)
    try:
        tensors = safetensors.numpy.load(data)
    except Exception as exc:  # safetensors raises its own error types
        raise InputError(f"{shown}: its {WEIGHTS} is damaged ({_first_line(exc)})") from None
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
