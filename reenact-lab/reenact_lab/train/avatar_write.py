"""Writing the fine-tuned generator into an avatar file (`reenact_lab.avatar_file.write_avatar`).

The weights are stored as fp16 and the ONNX file is exported from those same fp16-rounded
weights (fp32 ONNX, `reenact.engine.backends.export_onnx`, as `scripts/export_onnx.py` ships the
shipped one), so the CPU runtime and the CUDA one draw the same network; its INT8 model,
calibrated on the person's own frames, runs where the shipped generator runs in INT8.

The person's own mouths and eyes (`reenact.render.face_bank`) go in beside it: `keep` picks the
training frames whose parts' shapes lie far apart (`pick`, `spread`) and cuts each to the regions
around its lips and eyes (`cut_to_parts`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from reenact.engine.arrays import FORMAT
from reenact.engine.backends import export_onnx
from reenact.nn.unet import UNetGenerator
from reenact.render.face_bank import EYES, MOUTH, PARTS
from reenact_lab.train.avatar_data import AvatarData
from reenact_lab.train.avatar_fit import SHIPPED, WISE_ALPHA, FitResult

KEEP = 24  # px at 256 kept around each part of a frame; a part's warp reads no farther


def fp16_weights(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The state dict as numpy, floats as fp16 (counters stay integers)."""
    out = {}
    for key, value in model.state_dict().items():
        t = value.detach().cpu()
        out[key] = (t.half() if t.is_floating_point() else t).numpy().copy()
    return out


def onnx_bytes(model: UNetGenerator, weights: dict[str, np.ndarray]) -> bytes:
    """fp32 ONNX of `model` carrying the fp16-rounded `weights`."""
    model = model.float().cpu().eval()
    model.load_state_dict(
        {
            k: torch.from_numpy(v.astype(np.float32) if v.dtype == np.float16 else v)
            for k, v in weights.items()
        }
    )
    with tempfile.TemporaryDirectory(prefix="reenact-avatar-") as folder:
        path = export_onnx(
            model, Path(folder) / "generator.onnx", channels=model.in_channels, size=model.size
        )
        return path.read_bytes()


CALIBRATION = 40  # frames the INT8 model is calibrated on, spread over the training rows


def int8_onnx(model: UNetGenerator, meta: dict[str, str], data: AvatarData) -> bytes:
    """INT8 ONNX of `model` (`reenact.engine.quantize`), calibrated as the avatar runs live: its
    picture (else its first clip's most neutral frame) driven by its person's training frames."""
    from reenact.tools.quantize import driven_inputs, int8_bytes
    from reenact_lab.train.avatar_data import neutral_row

    first = data.clips[0]
    if data.picture_crop is not None and data.picture_landmarks is not None:
        crop, landmarks = data.picture_crop, data.picture_landmarks
    else:
        row = neutral_row(first.landmarks, np.arange(len(first.landmarks)))
        crop, landmarks = first.crops[row], first.landmarks[row]
    driving = np.concatenate([c.landmarks[c.split()[0]] for c in data.clips])
    if not len(driving):  # clips too short to hold a training row: every tracked frame
        driving = np.concatenate([c.landmarks for c in data.clips])
    pick = np.unique(np.linspace(0, len(driving) - 1, min(CALIBRATION, len(driving))).round())
    inputs = driven_inputs(model, meta, crop, landmarks, driving[pick.astype(int)])
    return int8_bytes(model, inputs)


def generator_meta(model: UNetGenerator, result: FitResult, device: str) -> dict[str, str]:
    meta: dict[str, Any] = {
        **model.arch_meta(),
        "task": "generator",
        "format": FORMAT,
        "storage_dtype": "float16",
        "steps": result.best_step,
        "best_ssim": result.best["personal"]["ssim"],
        "exported_from": f"avatar fine-tune of {SHIPPED}",
        "trained_on": device,
    }
    return {k: str(v) for k, v in meta.items()}


def manifest(
    data: AvatarData,
    result: FitResult,
    *,
    device: str,
    minutes: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    splits = [c.split() for c in data.clips]
    return {
        "crop_size": data.size,
        "source_clips": [c.describe() for c in data.clips],
        "picture_source": data.picture_source,
        "frames_train": int(sum(len(t) for t, _ in splits)),
        "frames_val": int(sum(len(v) for _, v in splits)),
        "steps": result.steps,
        "best_step": result.best_step,
        "stopped": result.stopped,
        "device": device,
        "minutes": round(minutes, 2),
        "validation": result.best,
        "validation_fine_tuned": result.fine_tuned,
        "wise_alpha": WISE_ALPHA,
        "validation_start": result.start,
        "validation_history": result.history,
        "expression_notes": data.notes,
        **(extra or {}),
    }


def write_avatar_file(
    path: str | Path,
    data: AvatarData,
    result: FitResult,
    *,
    device: str,
    minutes: float,
    extra: dict[str, Any] | None = None,
    bank: tuple[np.ndarray, np.ndarray] | None = None,
) -> Path:
    """The avatar file at `path`; bank: its face bank (`face_bank(data)`), if any."""
    from reenact_lab.avatar_file import write_avatar

    model = cast(UNetGenerator, result.model)
    weights = fp16_weights(model)
    meta = generator_meta(model, result, device)
    fp32 = onnx_bytes(model, weights)  # leaves `model` holding the fp16-rounded weights
    facts = manifest(data, result, device=device, minutes=minutes, extra=extra)
    facts["face_bank_frames"] = 0 if bank is None else len(bank[0])
    return write_avatar(
        path,
        picture=data.picture,
        neutral=data.neutral,
        generator_onnx=fp32,
        generator_weights=weights,
        generator_meta=meta,
        manifest=facts,
        generator_int8=int8_onnx(model, meta, data),
        face_bank=bank,
    )


def spread(shapes: np.ndarray, count: int) -> np.ndarray:
    """Rows of (N,D) `shapes`, `count` at most, far apart (farthest-point sampling from the most
    ordinary): the bank covers the shapes the video shows, not only its most frequent one."""
    chosen = [int(np.argmin(np.linalg.norm(shapes - shapes.mean(axis=0), axis=1)))]
    distance = np.linalg.norm(shapes - shapes[chosen[0]], axis=1)
    while len(chosen) < min(count, len(shapes)):
        far = int(np.argmax(distance))
        chosen.append(far)
        distance = np.minimum(distance, np.linalg.norm(shapes - shapes[far], axis=1))
    return np.array(chosen)


def pick(landmarks: np.ndarray) -> np.ndarray:
    """Sorted rows of (N,478,2|3) `landmarks` to keep: each part's `count` spread apart."""
    rows = [spread(np.stack([p.shape(xy) for xy in landmarks]), p.count) for p in PARTS]
    return np.unique(np.concatenate(rows))


def keep(
    landmarks: np.ndarray, crop_of: Callable[[int], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The bank of the frames with (N,478,3) crop-px `landmarks`: `pick`'s rows, each
    `crop_of(row)` cut to its parts: ((K,S,S,3) uint8, (K,478,3) float32)."""
    rows = pick(landmarks)
    crops = np.stack([cut_to_parts(crop_of(int(r)), landmarks[r]) for r in rows])
    return crops, landmarks[rows].astype(np.float32)


def cut_to_parts(crop: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """The (S,S,3) crop with everything farther than KEEP px (at 256) from its lips and eyes
    black: what the parts' warps read, and little else to store."""
    size = crop.shape[0]
    grow = KEEP * size / 256.0
    kept = (MOUTH.mask(xy, size, grow) > 0.5) | (EYES.mask(xy, size, grow) > 0.5)
    return np.where(kept[..., None], crop, 0).astype(np.uint8)


def face_bank(data: AvatarData) -> tuple[np.ndarray, np.ndarray] | None:
    """The person's own mouths and eyes (`reenact.render.face_bank`) from the training frames of
    the clip the picture came from, in its light; None when the picture is the user's own,
    whose light the clips may not share."""
    clip = data.clips[0]
    if not data.picture_source.startswith(f"{clip.name}#"):
        return None
    rows = clip.split()[0]
    if not len(rows):
        return None
    return keep(clip.landmarks[rows], lambda k: clip.crops[rows[k]])
