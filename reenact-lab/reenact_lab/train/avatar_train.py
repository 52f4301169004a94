"""`reenact avatar train`: clips of one person -> NAME.avatar, within a time budget.

    prepare (here: MediaPipe, PyAV)      track, refuse several people / no face, split by time,
                                          pick the picture and its neutral, measure the range
    -> optional prepared folder           (--prepare-only DIR; --from-prepared DIR elsewhere)
    -> fine-tune (`avatar_fit`)           until the budget's end, best validated step kept
    -> NAME.avatar (`avatar_write`)

The budget (`minutes`) counts from the command's start, preparation included.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reenact.errors import DeviceError, InputError, ReenactError
from reenact_lab import get_logger
from reenact_lab.train.avatar_data import AvatarData, read_prepared, write_prepared

log = get_logger(__name__)

CROP_SIZE = 256  # the shipped generator's, the one an avatar fine-tunes
TRAIN_HINT = "avatar training needs torch: pip install 'reenact[train]'"


@dataclass
class AvatarJob:
    """What the command was asked (see `reenact avatar train --help`)."""

    videos: list[str]
    out: str = ""
    minutes: float = 10.0
    device: str = "auto"
    picture: str = ""
    prepare_only: str = ""
    from_prepared: str = ""
    max_steps: int = 0
    batch_size: int = 0
    progress: bool = True
    still: bool = False
    report: str = ""


def need_torch() -> None:
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        raise ReenactError(TRAIN_HINT) from None


def resolve_device(name: str):
    import torch

    if name not in ("cpu", "cuda", "auto"):
        raise DeviceError(f"--device {name}: expected cpu, cuda or auto")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda: no CUDA device here (run `reenact doctor`)")
    return torch.device(name)


def load_data(job: AvatarJob, config_loader) -> AvatarData:
    """The prepared folder, or the clips tracked now (config_loader() gives the Config)."""
    if job.from_prepared:
        if job.videos:
            raise InputError("give either videos or --from-prepared DIR, not both")
        return read_prepared(job.from_prepared)
    from reenact.paths import cache_dir
    from reenact_lab.train.avatar_prepare import prepare_avatar_data

    return prepare_avatar_data(
        job.videos,
        config_loader(),
        size=CROP_SIZE,
        picture=job.picture,
        cache=cache_dir() / "avatar_tracks",
    )


def _options(job: AvatarJob, started: float, device):
    import os

    from reenact_lab.train.avatar_fit import FitOptions

    cuda = device.type == "cuda"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2
    seconds = 60.0 * job.minutes
    return FitOptions(
        deadline=started + seconds,
        device=device,
        batch_size=job.batch_size or (16 if cuda else 8),
        max_steps=job.max_steps,
        workers=max(1, min(8, cores - 1)) if cuda else 1,
        val_every_s=min(60.0, max(10.0, seconds / 10)),
        progress=job.progress,
    )


def train_avatar(job: AvatarJob, config_loader) -> dict[str, Any]:
    """Run the job; returns a summary (what the command prints and --report writes)."""
    started = time.perf_counter()
    if not job.prepare_only:
        need_torch()
    if not job.prepare_only and not job.out:
        raise InputError("--out NAME.avatar is required (or --prepare-only DIR)")
    data = load_data(job, config_loader)
    prepared_s = time.perf_counter() - started
    if job.prepare_only:
        folder = write_prepared(job.prepare_only, data)
        mib = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        prepared = {
            "prepared": str(folder),
            "mib": round(mib, 2),
            "prepare_s": round(prepared_s, 1),
            "clips": [c.describe() for c in data.clips],
            "notes": data.notes,
        }
        if job.report:
            write_report(job.report, prepared)
        return prepared
    from reenact_lab.train.avatar_fit import fit_avatar
    from reenact_lab.train.avatar_write import face_bank, write_avatar_file

    device = resolve_device(job.device)
    result = fit_avatar(make_pairs(data, job.still), _options(job, started, device))
    summary = _summary(result, data, device, started, prepared_s)
    if job.report:  # the scores survive an export that fails
        write_report(job.report, summary)
    path = write_avatar_file(
        job.out,
        data,
        result,
        device=summary["device"],
        minutes=(time.perf_counter() - started) / 60,
        extra={"still": True} if job.still else None,
        bank=(bank := face_bank(data)),
    )
    summary.update(
        avatar=str(path),
        face_bank=0 if bank is None else len(bank[0]),
        total_s=round(time.perf_counter() - started, 1),
    )
    if job.report:
        write_report(job.report, summary)
    return summary


def _summary(result, data: AvatarData, device, started: float, prepared_s: float) -> dict:
    return {
        "avatar": None,
        "device": torch_device_name(device),
        "steps": result.steps,
        "best_step": result.best_step,
        "stopped": result.stopped,
        "prepare_s": round(prepared_s, 1),
        "train_s": result.seconds,
        "total_s": round(time.perf_counter() - started, 1),
        "steps_per_s": round(result.steps / max(result.seconds, 1e-6), 3),
        "validation": result.best,
        "validation_fine_tuned": result.fine_tuned,
        "validation_start": result.start,
        "history": result.history,
        "notes": data.notes,
    }


def make_pairs(data: AvatarData, still: bool):
    """The clips' pairs, or (still) the picture's own, validated on the clips' tails."""
    if not still:
        from reenact_lab.train.avatar_pairs import AvatarPairs

        return AvatarPairs(data)
    from reenact_lab.train.avatar_still import StillPairs

    if data.picture_crop is None:
        raise InputError("--still: the prepared data has no aligned picture; prepare it again")
    return StillPairs(data)


def torch_device_name(device) -> str:
    import torch

    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """What the command prints."""
    if "prepared" in summary:
        return [
            f"prepared {len(summary['clips'])} clips into {summary['prepared']} "
            f"({summary['mib']} MiB, {summary['prepare_s']} s)"
        ]
    v = summary["validation"]
    rows = ", ".join(
        f"{k} {v[k]['ssim']:.4f} / {v[k]['psnr']:.2f} dB" for k in ("warp", "shipped", "personal")
    )
    return [
        f"wrote {summary['avatar']}: {summary['steps']} steps in {summary['total_s'] / 60:.1f} "
        f"min on {summary['device']} ({summary['stopped']}; best at step "
        f"{summary['best_step']})",
        f"held-out tail SSIM / PSNR: {rows}",
        *(
            [
                f"  (the fine-tune alone: {tuned['ssim']:.4f} / {tuned['psnr']:.2f} dB; the avatar "
                "keeps its average with the shipped generator, which holds up better on new clips)"
            ]
            if (tuned := summary.get("validation_fine_tuned"))
            else []
        ),
        f"kept {summary['face_bank']} frames of the person's mouths and eyes to draw on its "
        "own picture"
        if summary.get("face_bank")
        else "kept no mouths or eyes: the picture is not a frame of the first clip (--picture)",
    ]


def write_report(path: str, summary: dict[str, Any]) -> Path:
    import json

    from reenact.atomic import write_atomic

    return write_atomic(Path(path), json.dumps(summary, indent=1, default=str))
