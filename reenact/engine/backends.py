"""The generator's CPU inference backends: torch on the CPU and ONNX Runtime on the CPU.

Each backend has one method per network call: `run(x) -> y`, with
x: (1, C, S, S) float32 numpy in [-1, 1] and y: (1, 3, S, S) float32 numpy in [-1, 1].
On CUDA the whole frame runs on the device instead: `reenact.render.generator_cuda`.
torch is imported only by what needs it (the torch backend, exporting), so ONNX Runtime runs
an exported model where torch is not installed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from reenact.errors import ReenactError
from reenact.paths import onnx_cache_dir

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


class TorchCPUBackend:
    """torch on the CPU, fp32, inference mode."""

    name = "torch-cpu"

    def __init__(self, model: torch.nn.Module, *, threads: int) -> None:
        self.model = model.eval().float()
        self.threads = threads

    def run(self, x: np.ndarray) -> np.ndarray:
        import torch

        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        with torch.inference_mode():
            return self.model(torch.from_numpy(x)).numpy()


def export_onnx(model: torch.nn.Module, path: str | Path, *, channels: int, size: int) -> Path:
    """Export the generator to ONNX (opset 17, batch 1), atomically. Returns the path."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().float().cpu()
    example = torch.zeros(1, channels, size, size)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        torch.onnx.export(
            model,
            (example,),
            tmp,
            input_names=["x"],
            output_names=["image"],
            opset_version=17,
            dynamo=False,
        )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def ensure_onnx(model: torch.nn.Module, path: Path) -> Path:
    """`path`, exported from `model` (a UNetGenerator) first if it is not there yet."""
    if not path.is_file():
        log.info("exporting the generator to %s", path)
        export_onnx(model, path, channels=model.in_channels, size=model.size)
    return path


def onnx_cache_path(weights: Path, meta: dict[str, str]) -> Path:
    """Where the ONNX export of a weights file is cached (keyed by its content and arch)."""
    digest = hashlib.sha256()
    with open(weights, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    digest.update(repr(sorted(meta.items())).encode())
    return onnx_cache_dir() / f"{weights.stem}-{digest.hexdigest()[:16]}.onnx"


def cpu_session(onnx_path: Path, *, threads: int):
    """An ONNX Runtime session on the CPU for `onnx_path`, with `threads` threads that sleep
    between ops; ReenactError in one line for a file it cannot load."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # worker threads sleep between ops instead of spinning: on a 2-core machine they would
    # otherwise burn the core the tracker (or OBS) needs; measured on the loaded 2-core
    # machine: 37.5 vs 43.7 ms median for the INT8 shipped model (docs/PERFORMANCE.md)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ReenactError(f"{onnx_path}: cannot load ONNX model ({exc})") from None


class OnnxBackend:
    """ONNX Runtime on the CPU with threads set from the machine."""

    name = "onnx-cpu"

    def __init__(self, onnx_path: Path, *, threads: int, int8: bool = False) -> None:
        if int8:
            self.name = "onnx-cpu-int8"
        self.session = cpu_session(onnx_path, threads=threads)
        self.path = Path(onnx_path)
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.threads = threads

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: x})[0]
