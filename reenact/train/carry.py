"""A compact copy of a prepared cache to carry to a lent GPU machine (docs/TRAINING_ON_GPU.md).

The GPU machine gets at most 64 MiB with the source tree (about 15 MiB), and has torch and
OpenCV but neither PyAV nor MediaPipe. `pack_cache` writes a cache that `read_cache` reads there:

- crops: H.264 mp4 (yuv420p, `crf`), decoded by OpenCV when PyAV is missing; clips may be
  thinned to every `stride`-th frame;
- landmarks: `landmarks_q` (N,478,2) uint16 in 1/64 crop pixel (65535 = no face), compressed;
  z is dropped (the landmark image and the pair sampler use x, y only); the other arrays as in
  the full cache.

If the copy exceeds `budget_mib`, the crops are encoded again at crf + 4 (up to three times).
A `warps/` folder that training left in the copy is removed (warps are made again where needed).
"""

from __future__ import annotations

import io
import logging
import shutil
from dataclasses import replace as dc_replace
from pathlib import Path

import numpy as np

from reenact.atomic import write_atomic
from reenact.errors import InputError
from reenact.train.cache import CacheEntry, encode_crops, write_index
from reenact.train.cache import _entry_arrays  # noqa: PLC2701 (one list of arrays)

log = logging.getLogger(__name__)

Q_SCALE = 64.0  # landmarks_q units per crop pixel
Q_NONE = 65535  # landmarks_q where no face


def quantise_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """(N,478,3) float crop pixels (NaN = no face) -> (N,478,2) uint16 (module docstring)."""
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


def _thin(entry: CacheEntry, stride: int) -> tuple[CacheEntry, np.ndarray]:
    crops = entry.load_crops()
    if stride <= 1 or entry.kind == "images":
        return entry, crops
    keep = np.arange(0, entry.num_frames, stride)
    reference = entry.reference if entry.reference < 0 else int(entry.reference // stride)
    thinned = dc_replace(
        entry, landmarks=entry.landmarks[keep], valid=entry.valid[keep],
        frame_index=entry.frame_index[keep], frame_names=entry.frame_names[keep],
        expression=entry.expression[keep], variant=entry.variant[keep],
        alignment=entry.alignment[keep], reference=reference, crops=None)
    if reference >= 0 and not thinned.valid[reference]:  # the neutral was thinned away
        good = np.flatnonzero(thinned.valid)
        thinned.reference = int(good[0]) if len(good) else -1
    return thinned, crops[keep]


def _write(folder: Path, entry: CacheEntry, crops: np.ndarray, crf: int) -> None:
    entry = dc_replace(entry, folder=folder, crops_format="mp4", crops=None)
    encode_crops(entry.crops_path, crops, fps=entry.fps or 25.0, crf=crf, pix_fmt="yuv420p")
    arrays = _entry_arrays(entry)
    arrays.pop("landmarks")
    arrays["landmarks_q"] = quantise_landmarks(entry.landmarks)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_atomic(entry.landmarks_path, buffer.getvalue())


def folder_mib(folder: Path) -> float:
    """Size of every file under `folder`, in MiB."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) / 2**20


def pack_cache(entries: list[CacheEntry], out_dir: str | Path, *, crf: int = 26, stride: int = 1,
               budget_mib: float = 45.0, size: int = 256) -> tuple[Path, float, int]:
    """Write the compact copy; returns (folder, MiB, crf used). InputError if it cannot fit."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder / "warps", ignore_errors=True)  # derived by training; made again there
    thinned = [_thin(e, stride) for e in entries]
    for attempt in range(4):
        for entry, crops in thinned:
            _write(folder, entry, crops, crf)
        packed = [dc_replace(e, folder=folder, crops_format="mp4", crops=None) for e, _ in thinned]
        write_index(folder, packed, size)
        mib = folder_mib(folder)
        if mib <= budget_mib:
            return folder, mib, crf
        log.warning("carry copy is %.1f MiB > %.1f MiB at crf %d; encoding again", mib,
                    budget_mib, crf)
        crf += 4
    raise InputError(f"{folder}: {mib:.1f} MiB at crf {crf - 4} is over the {budget_mib} MiB "
                     "budget; use a larger --carry-stride")
