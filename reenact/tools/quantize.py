"""`reenact quantize`: calibrate and write the INT8 generator for ONNX Runtime on the CPU.

Calibration inputs are built exactly as the renderer builds them live, from real clips: each
clip is tracked (video mode) and aligned; its first frame with a face is the target and every
`stride`-th frame drives it (self-reenactment), so the landmark image and, for the warp-guided
generator, the warp are those of real faces. Use clips you do not evaluate on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reenact.config import Config
from reenact.engine.quantize import int8_path, quantize_generator
from reenact.engine.shipped import find_weights
from reenact.errors import WeightsError


class _Recorder:
    """A backend that keeps the input it is given and renders nothing."""

    name = "calibration"

    def __init__(self, size: int) -> None:
        self.x: np.ndarray | None = None
        self._y = np.zeros((1, 3, size, size), np.float32)

    def run(self, x: np.ndarray) -> np.ndarray:
        self.x = x.copy()
        return self._y


def calibration_inputs(
    model, meta, clips: list[Path], config: Config, *, frames: int, stride: int
) -> Iterator[np.ndarray]:
    """(1, in_channels, S, S) float32 generator inputs in [-1,1]: up to `frames` per clip."""
    from reenact.landmarks.clips import track_clip

    for path in clips:
        clip = track_clip(path, path.stem, config, max_frames=frames * stride)
        ref = clip.reference_index(0)
        rows = np.flatnonzero(clip.valid)[::stride][:frames]
        yield from driven_inputs(
            model, meta, clip.crops[ref], clip.landmarks_crop[ref], clip.landmarks_crop[rows]
        )


def driven_inputs(
    model, meta, target_crop: np.ndarray, target_landmarks: np.ndarray, driving: np.ndarray
) -> Iterator[np.ndarray]:
    """(1, in_channels, S, S) float32 generator inputs in [-1,1]: the target (its (S,S,3) crop
    and (478,3) landmarks) driven by each of `driving`'s (N,478,3) crop-pixel landmarks."""
    from reenact.render.generator import GeneratorRenderer

    recorder = _Recorder(model.size)
    renderer = GeneratorRenderer(model=model, meta=meta, backend=recorder, weights=None)
    renderer.set_target(target_crop, target_landmarks)
    for landmarks in driving:
        renderer.render(landmarks)
        yield recorder.x


def int8_bytes(model, calibration: Iterator[np.ndarray]) -> bytes:
    """`model` (a UNetGenerator) quantised to INT8 on `calibration`, as ONNX bytes."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="reenact-int8-") as folder:
        return quantize_generator(model, calibration, Path(folder) / "int8.onnx").read_bytes()


@dataclass
class QuantizeResult:
    path: Path
    inputs: int
    seconds: float
    mean_abs_diff: float  # INT8 vs fp32 output on the last inputs, in 0..255 levels


def quantize_cpu_generator(
    config: Config, clips: list[Path], *, frames: int = 8, stride: int = 10
) -> QuantizeResult:
    """Calibrate on `clips` and write the INT8 model of the generator `config` names (the
    shipped CPU model unless renderer.weights) beside its ONNX cache. Checks it against fp32."""
    from reenact.engine.backends import OnnxBackend, ensure_onnx, onnx_cache_path
    from reenact.render.generator import load_generator

    r = config.renderer
    weights = find_weights(r.weights, "generator", r.size, backend="onnx")
    if weights is None:
        raise WeightsError(
            f"reenact quantize: no generator for size {r.size}; set renderer.weights=PATH"
        )
    model, meta = load_generator(weights, size=r.size)
    onnx_path = ensure_onnx(
        model, Path(r.onnx_path) if r.onnx_path else onnx_cache_path(weights, meta)
    )
    start = time.perf_counter()
    kept: list[np.ndarray] = []

    def inputs() -> Iterator[np.ndarray]:
        for x in calibration_inputs(model, meta, clips, config, frames=frames, stride=stride):
            kept.append(x)
            yield x

    out = quantize_generator(model, inputs(), int8_path(onnx_path))
    seconds = time.perf_counter() - start
    fp32, int8 = OnnxBackend(onnx_path, threads=1), OnnxBackend(out, threads=1, int8=True)
    diffs = [float(np.abs(fp32.run(x) - int8.run(x)).mean()) * 127.5 for x in kept[-8:]]
    return QuantizeResult(out, len(kept), seconds, float(np.mean(diffs)))
