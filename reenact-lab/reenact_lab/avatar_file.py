"""Writing a personal avatar file (`reenact.avatar` documents the format and reads it).

Only the lab writes avatars: `reenact avatar train` (`reenact_lab.train.avatar_write`) and the
tests' avatars. Torch-free, like the reader: numpy, safetensors and OpenCV.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from reenact import __version__
from reenact.atomic import partial_beside
from reenact.avatar import AVATAR_SUFFIX, read_avatar
from reenact.avatar_checks import (
    BANK,
    BANK_LANDMARKS,
    FORMAT,
    INT8,
    MANIFEST,
    NEUTRAL,
    ONNX,
    PICTURE,
    VERSION,
    WEIGHTS,
)
from reenact.errors import InputError


def write_avatar(
    path: str | os.PathLike[str],
    *,
    picture: np.ndarray,
    neutral: np.ndarray | None,
    generator_onnx: bytes,
    generator_weights: dict[str, np.ndarray],
    generator_meta: dict[str, str],
    manifest: dict,
    generator_int8: bytes | None = None,
    face_bank: tuple[np.ndarray, np.ndarray] | None = None,
) -> Path:
    """Write an avatar file atomically (a partial file beside `path`, read back whole, then
    renamed over it); returns the path. The manifest is kept as given, with `format`,
    `version` and, when absent, `reenact_version`, `created`, `name` and `crop_size` added.
    InputError when the parts would make an avatar that `read_avatar` refuses."""
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
    if generator_int8 is not None:
        members[INT8] = bytes(generator_int8)
    if neutral is not None:
        members[NEUTRAL] = _npy(neutral, np.float32)
    if face_bank is not None:
        members[BANK] = _npy(face_bank[0], np.uint8)
        members[BANK_LANDMARKS] = _npy(face_bank[1], np.float32)
    return _write_checked(path, members)


def _npy(array: np.ndarray, dtype) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype=dtype), allow_pickle=False)
    return buffer.getvalue()


def _write_checked(path: Path, members: dict[str, bytes]) -> Path:
    """The zip of `members` written beside `path`, read back whole, then renamed over it."""
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
