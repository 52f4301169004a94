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
import shutil
from dataclasses import replace as dc_replace
from pathlib import Path

import numpy as np

from reenact.atomic import write_atomic
from reenact.errors import InputError
from reenact_lab import get_logger
from reenact_lab.train.cache import (
    CacheEntry,
    encode_crops,
    entry_arrays,
    quantise_landmarks,
    write_index,
)

log = get_logger(__name__)


def _thin(entry: CacheEntry, stride: int) -> tuple[CacheEntry, np.ndarray]:
    crops = entry.load_crops()
    if stride <= 1 or entry.kind == "images":
        return entry, crops
    keep = np.arange(0, entry.num_frames, stride)
    reference = entry.reference if entry.reference < 0 else int(entry.reference // stride)
    thinned = dc_replace(
        entry,
        landmarks=entry.landmarks[keep],
        valid=entry.valid[keep],
        frame_index=entry.frame_index[keep],
        frame_names=entry.frame_names[keep],
        expression=entry.expression[keep],
        variant=entry.variant[keep],
        alignment=entry.alignment[keep],
        reference=reference,
        crops=None,
    )
    if reference >= 0 and not thinned.valid[reference]:  # the neutral was thinned away
        good = np.flatnonzero(thinned.valid)
        thinned.reference = int(good[0]) if len(good) else -1
    return thinned, crops[keep]


def _write(folder: Path, entry: CacheEntry, crops: np.ndarray, crf: int) -> None:
    entry = dc_replace(entry, folder=folder, crops_format="mp4", crops=None)
    encode_crops(entry.crops_path, crops, fps=entry.fps or 25.0, crf=crf, pix_fmt="yuv420p")
    arrays = entry_arrays(entry)
    arrays.pop("landmarks")
    arrays["landmarks_q"] = quantise_landmarks(entry.landmarks)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_atomic(entry.landmarks_path, buffer.getvalue())


def folder_mib(folder: Path) -> float:
    """Size of every file under `folder`, in MiB."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) / 2**20


def pack_cache(
    entries: list[CacheEntry],
    out_dir: str | Path,
    *,
    crf: int = 26,
    stride: int = 1,
    budget_mib: float = 45.0,
    size: int = 256,
) -> tuple[Path, float, int]:
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
        log.warning(
            "carry copy is %.1f MiB > %.1f MiB at crf %d; encoding again", mib, budget_mib, crf
        )
        crf += 4
    raise InputError(
        f"{folder}: {mib:.1f} MiB at crf {crf - 4} is over the {budget_mib} MiB "
        "budget; use a larger --carry-stride"
    )
