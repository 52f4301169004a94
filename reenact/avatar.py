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
    generator.int8.onnx    optional: the same generator as static INT8 ONNX calibrated on its
                           person's frames (run where the shipped generator runs in INT8)
    face_bank.npy          optional, with the next: (K, S, S, 3) uint8 frames of the person cut
                           to their mouths and eyes (`reenact.render.face_bank`); allow_pickle=False
    face_bank_landmarks.npy  their (K, 478, 3) float32 aligned-crop landmarks

Reading never unpickles and never trusts the archive: the file's size and every member's declared
size are checked from the zip's directory before anything is read, each member's CRC is checked
as it is read, and the weights must have the shipped generator's architecture (keys and shapes).
Anything wrong is one InputError line naming the file (the member checks: `reenact.avatar_checks`).
Torch-free: the CPU runtime reads avatars. The lab writes them (`reenact avatar train`,
`reenact_lab.avatar_file.write_avatar`), reading each back here before it keeps it.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from reenact.avatar_checks import (
    BANK,
    BANK_LANDMARKS,
    INT8,
    MANIFEST,
    MAX_FILE_BYTES,
    MIB,
    NEUTRAL,
    ONNX,
    PICTURE,
    REQUIRED,
    WEIGHTS,
    check_directory,
    first_line,
    member_bytes,
    parse_bank,
    parse_manifest,
    parse_neutral,
    parse_picture,
    parse_weights,
)
from reenact.errors import InputError, ReenactError

AVATAR_SUFFIX = ".avatar"


@dataclass(frozen=True, eq=False)
class Avatar:
    """A read avatar (see the module docstring); compared and hashed by identity.

    picture: (H, W, 3) uint8 RGB; neutral: (478, 3) float32 aligned-crop pixels at
    manifest["crop_size"], or None; generator_onnx: fp32 ONNX bytes; generator_weights: the
    same generator's tensors (fp16 floats); generator_meta: their safetensors metadata;
    generator_int8: its INT8 ONNX bytes, or None; face_bank: (crops (K,S,S,3) uint8,
    landmarks (K,478,3) float32) of the person's mouths and eyes, or None.
    """

    path: Path
    manifest: dict
    picture: np.ndarray
    neutral: np.ndarray | None
    generator_onnx: bytes = field(repr=False)
    generator_weights: dict[str, np.ndarray] = field(repr=False)
    generator_meta: dict[str, str] = field(default_factory=dict)
    generator_int8: bytes | None = field(default=None, repr=False)
    face_bank: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def crop_size(self) -> int:
        return int(self.manifest["crop_size"])

    @cached_property
    def key(self) -> str:
        """A short digest of the generator's ONNX bytes (both models when it carries INT8 too):
        the same networks, the same key."""
        import hashlib

        digest = hashlib.sha256(self.generator_onnx)
        if self.generator_int8 is not None:
            digest.update(self.generator_int8)
        return digest.hexdigest()[:16]


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
        raise InputError(f"{shown}: damaged avatar file ({first_line(exc)})") from None


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
        check_directory(shown, infos)
        manifest = parse_manifest(shown, member_bytes(archive, shown, MANIFEST))
        names = {i.filename for i in infos}
        missing = [m for m in REQUIRED if m not in names]
        if missing:
            raise InputError(f"{shown}: not a whole avatar (missing {', '.join(missing)})")
        picture = parse_picture(shown, member_bytes(archive, shown, PICTURE))
        neutral = (
            parse_neutral(shown, member_bytes(archive, shown, NEUTRAL))
            if NEUTRAL in names
            else None
        )
        onnx = member_bytes(archive, shown, ONNX)
        int8 = member_bytes(archive, shown, INT8) if INT8 in names else None
        weights, meta = parse_weights(shown, member_bytes(archive, shown, WEIGHTS))
        bank = _read_bank(archive, shown, names, int(manifest["crop_size"]))
    for name, model in ((ONNX, onnx), (INT8, int8)):
        # an ONNX ModelProto opens with its ir_version field
        if model is not None and not model.startswith(b"\x08"):
            raise InputError(f"{shown}: its {name} is not an ONNX model")
    if int(manifest["crop_size"]) != int(meta["size"]):
        raise InputError(
            f"{shown}: its manifest says crop_size {manifest['crop_size']}, its generator "
            f"is for {meta['size']}"
        )
    return Avatar(path, manifest, picture, neutral, onnx, weights, meta, int8, bank)


def _read_bank(
    archive: zipfile.ZipFile, shown: Path, names: set[str], size: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The face bank's two members, checked, or None when the avatar has none."""
    if BANK not in names and BANK_LANDMARKS not in names:
        return None
    if not (BANK in names and BANK_LANDMARKS in names):
        raise InputError(f"{shown}: not a whole avatar ({BANK} without its pair)")
    crops = member_bytes(archive, shown, BANK)
    return parse_bank(shown, crops, member_bytes(archive, shown, BANK_LANDMARKS), size)
