"""Replays: a real session's fused landmarks, saved so the renderer can be timed on its own.

`reenact bench --source CLIP --save-replay FILE` tracks the clip with the real face mesh and keeps,
per crop size, the target crop, its landmarks and every frame's fused landmarks J_gen (about
2 MB for 100 frames at two sizes). `reenact bench --replay FILE` then times the renderer alone
on those frames: on a machine without a camera, MediaPipe or PyAV (a rented GPU box), and with
the GPU stages timed by CUDA events.
"""

from __future__ import annotations

import io
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reenact.atomic import write_atomic
from reenact.config import Config, replace
from reenact.errors import InputError

NEUTRAL_FRAMES = 3


@dataclass
class Replay:
    size: int
    crop: np.ndarray  # (S,S,3) uint8 target crop
    landmarks: np.ndarray  # (478,3) the target's crop landmarks
    fused: np.ndarray  # (N,478,3) J_gen per frame


class _Recorder:
    """A renderer that keeps what it is asked to render, and renders with the one it wraps."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.shifts_colours = inner.shifts_colours
        self.draws_shading = getattr(inner, "draws_shading", True)
        self.size = inner.size
        self.crop = self.landmarks = None
        self.fused: list[np.ndarray] = []

    def set_target(self, crop: np.ndarray, landmarks: np.ndarray) -> None:
        self.crop, self.landmarks = np.array(crop), np.array(landmarks, np.float32)
        self.inner.set_target(crop, landmarks)

    def render(self, fused: np.ndarray) -> np.ndarray:
        self.fused.append(np.array(fused, np.float32))
        return self.inner.render(fused)


def record_replay(base: Config, *, sizes: list[int], frames: int, path: Path) -> Path:
    """Run the loop (warp renderer, null sink) on the configured source for each size until
    `frames` frames were rendered (after 3 frames of neutral calibration, as the bench); save."""
    from reenact.render.warp import WarpRenderer
    from reenact.stream.session import run_session

    arrays = {}
    for size in sizes:
        config = replace(
            base,
            renderer={"size": size, "kind": "warp"},
            sink={"kind": "null"},
            stream={"max_frames": frames + NEUTRAL_FRAMES},
            calibration={"neutral_frames": NEUTRAL_FRAMES, "neutral_window": NEUTRAL_FRAMES},
            source={"realtime": False, "loop": True},
        )
        recorder = _Recorder(WarpRenderer(size=size))
        run_session(config, show_progress=False, renderer=recorder)
        if not recorder.fused:
            where = base.source.options.get("path", base.source.kind)
            raise InputError(f"{where}: no face was tracked, nothing to replay")
        arrays[f"crop_{size}"] = recorder.crop
        arrays[f"landmarks_{size}"] = recorder.landmarks
        arrays[f"fused_{size}"] = np.stack(recorder.fused[-frames:])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return write_atomic(path, buffer.getvalue())


def load_replay(path: Path, size: int) -> Replay:
    """The replay of crop size `size` in `path`; a clear InputError when it is not there."""
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = (f"crop_{size}", f"landmarks_{size}", f"fused_{size}")
            if not all(k in data for k in keys):
                held = sorted({int(k.split("_")[1]) for k in data if k.startswith("fused_")})
                raise InputError(f"{path}: no replay for size {size} (holds {held or 'none'})")
            crop, landmarks, fused = (data[k] for k in keys)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a replay file ({exc})") from None
    if crop.shape != (size, size, 3) or fused.ndim != 3 or fused.shape[1:] != (478, 3):
        raise InputError(f"{path}: malformed replay for size {size}")
    return Replay(size=size, crop=crop, landmarks=landmarks, fused=fused)


def _summary(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, np.float64)
    return {
        "median_ms": float(np.median(a)),
        "p99_ms": float(np.percentile(a, 99)),
        "mean_ms": float(a.mean()),
    }


def time_renderer(renderer, replay: Replay, *, frames: int, warmup: int = 10) -> dict:
    """Render `frames` replayed frames (after `warmup`): host-to-host ms per frame, and the
    renderer's own per-stage times where it reports them (CUDA events)."""
    renderer.set_target(replay.crop, replay.landmarks)
    count = len(replay.fused)
    render_ms: list[float] = []
    stages: dict[str, list[float]] = {}
    stage_ms = getattr(renderer, "stage_ms", None)
    for i in range(warmup + frames):
        fused = replay.fused[i % count]
        start = time.perf_counter_ns()
        renderer.render(fused)
        elapsed = (time.perf_counter_ns() - start) / 1e6
        if i < warmup:
            continue
        render_ms.append(elapsed)
        for name, ms in (stage_ms() if stage_ms else {}).items():
            stages.setdefault(name, []).append(ms)
    result = {name: _summary(v) for name, v in stages.items()}
    result["render"] = _summary(render_ms)
    return result
