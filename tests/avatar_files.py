"""Test avatars made from the shipped generator: its weights and its ONNX, the first layer's bias
shifted to make one whose output differs (no torch, no onnx package: the ONNX keeps that bias as
raw fp32 bytes, replaced in place)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from reenact.engine.arrays import read_meta
from reenact.imageio import load_image
from reenact_lab.avatar_file import write_avatar

MODELS = Path(__file__).resolve().parents[1] / "reenact" / "models"
SHIPPED_WEIGHTS = MODELS / "generator_256.safetensors"
SHIPPED_ONNX = MODELS / "generator_256.onnx"
SHIPPED_INT8 = MODELS / "generator_256.int8.onnx"
SHIFTED = "downs.0.0.bias"  # the first convolution's bias: named alike in both files
VALIDATION = {
    "warp": {"ssim": 0.715, "psnr": 20.86},
    "shipped": {"ssim": 0.739, "psnr": 21.76},
    "personal": {"ssim": 0.781, "psnr": 22.4},
}


def shifted_generator(shift: float) -> tuple[dict[str, np.ndarray], bytes]:
    """(fp16 tensors, fp32 ONNX bytes) of the shipped generator with `SHIFTED` + shift."""
    weights = load_file(str(SHIPPED_WEIGHTS))
    onnx = SHIPPED_ONNX.read_bytes()
    if shift:
        old = weights[SHIFTED]
        new = (old.astype(np.float32) + shift).astype(old.dtype)
        found = onnx.count(old.astype(np.float32).tobytes())
        assert found == 1, f"{SHIFTED} found {found} times in the shipped ONNX"
        onnx = onnx.replace(old.astype(np.float32).tobytes(), new.astype(np.float32).tobytes())
        weights = {**weights, SHIFTED: new}
    return weights, onnx


def make_avatar(
    path: Path,
    picture: Path | np.ndarray,
    *,
    shift: float = 0.0,
    neutral: np.ndarray | None = None,
    manifest: dict | None = None,
    int8: bytes | None = None,
    face_bank: tuple[np.ndarray, np.ndarray] | None = None,
) -> Path:
    """An avatar file at `path` whose picture is `picture` (a file or RGB array); int8: the
    INT8 ONNX bytes it carries, if any; face_bank: its (crops, landmarks), if any."""
    image = load_image(picture) if isinstance(picture, Path) else picture
    weights, onnx = shifted_generator(shift)
    return write_avatar(
        path,
        picture=image,
        neutral=neutral,
        generator_onnx=onnx,
        generator_weights=weights,
        generator_meta=read_meta(SHIPPED_WEIGHTS),
        generator_int8=int8,
        face_bank=face_bank,
        manifest={
            "source_clips": [{"name": "test.mp4", "sha256": "0" * 64, "frames": 30, "seconds": 1}],
            "steps": 0,
            "device": "cpu",
            "minutes": 0.0,
            "validation": VALIDATION,
            **(manifest or {}),
        },
    )
