"""The generator's inference backends: torch on the CPU, ONNX Runtime on the CPU, torch on CUDA.

Each backend has one method per network call: `run(x) -> y`, with
x: (1, C, S, S) float32 numpy in [-1, 1] and y: (1, 3, S, S) float32 numpy in [-1, 1].
Buffers are allocated once per shape; after warm-up no frame allocates on the device.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from reenact.errors import ReenactError

log = logging.getLogger(__name__)


class TorchCPUBackend:
    """torch on the CPU, fp32, inference mode."""

    name = "torch-cpu"

    def __init__(self, model: torch.nn.Module, *, threads: int) -> None:
        self.model = model.eval().float()
        self.threads = threads

    def run(self, x: np.ndarray) -> np.ndarray:
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        with torch.inference_mode():
            return self.model(torch.from_numpy(x)).numpy()


def export_onnx(model: torch.nn.Module, path: str | Path, *, channels: int, size: int) -> Path:
    """Export the generator to ONNX (opset 17, batch 1), atomically. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().float().cpu()
    example = torch.zeros(1, channels, size, size)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        torch.onnx.export(
            model, (example,), tmp, input_names=["x"], output_names=["image"],
            opset_version=17, dynamo=False,
        )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def onnx_cache_path(weights: Path, meta: dict[str, str]) -> Path:
    """Where the ONNX export of a weights file is cached (keyed by its content and arch)."""
    digest = hashlib.sha256()
    with open(weights, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    digest.update(repr(sorted(meta.items())).encode())
    root = Path(os.environ.get("REENACT_CACHE", Path.home() / ".cache" / "reenact"))
    return root / "onnx" / f"{weights.stem}-{digest.hexdigest()[:16]}.onnx"


class OnnxBackend:
    """ONNX Runtime on the CPU with threads set from the machine."""

    name = "onnx-cpu"

    def __init__(self, onnx_path: Path, *, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(
                str(onnx_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ReenactError(f"{onnx_path}: cannot load ONNX model ({exc})") from None
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.threads = threads

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: x})[0]


class CudaBackend:
    """torch on CUDA: fp16/bf16, channels_last, static buffers and a captured CUDA graph.

    The input is copied from pinned host memory into a static device tensor, the graph replays,
    and the output is copied back into pinned host memory. No device allocation per frame.
    """

    name = "torch-cuda"

    def __init__(self, model: torch.nn.Module, *, shape: tuple[int, ...], precision: str,
                 use_graph: bool = True) -> None:
        self.device = torch.device("cuda")
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[
            "fp16" if precision == "auto" else precision
        ]
        self.model = model.eval().to(self.device, self.dtype).to(memory_format=torch.channels_last)
        self.stream = torch.cuda.Stream()
        self.host_in = torch.empty(shape, dtype=torch.float32, pin_memory=True)
        out_shape = (shape[0], 3, shape[2], shape[3])
        self.host_out = torch.empty(out_shape, dtype=torch.float32, pin_memory=True)
        self.dev_in = torch.empty(shape, device=self.device, dtype=torch.float32)
        self.dev_out = torch.empty(out_shape, device=self.device, dtype=torch.float32)
        self.graph: torch.cuda.CUDAGraph | None = None
        self._warm_up(use_graph)

    def _forward(self) -> None:
        x = self.dev_in.to(self.dtype, memory_format=torch.channels_last)
        self.dev_out.copy_(self.model(x).float())

    def _warm_up(self, use_graph: bool) -> None:
        with torch.inference_mode(), torch.cuda.stream(self.stream):
            for _ in range(3):
                self._forward()
        torch.cuda.synchronize()
        if use_graph:
            graph = torch.cuda.CUDAGraph()
            with torch.inference_mode(), torch.cuda.graph(graph, stream=self.stream):
                self._forward()
            self.graph = graph

    def run(self, x: np.ndarray) -> np.ndarray:
        self.host_in.numpy()[...] = x
        with torch.inference_mode(), torch.cuda.stream(self.stream):
            self.dev_in.copy_(self.host_in, non_blocking=True)
            if self.graph is not None:
                self.graph.replay()
            else:
                self._forward()
            self.host_out.copy_(self.dev_out, non_blocking=True)
        self.stream.synchronize()
        return self.host_out.numpy()
