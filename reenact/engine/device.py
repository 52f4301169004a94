"""Which backend runs the generator, and the thread settings of CPU backends.

Nothing here runs at import time; callers ask when they build a runner.
"""

from __future__ import annotations

import importlib.util
import os

from reenact.errors import ConfigError, DeviceError

BACKENDS = ("auto", "torch", "onnx", "cuda")


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def resolve_backend(requested: str) -> str:
    """'auto' -> 'cuda' when a GPU is present, else 'onnx' when ONNX Runtime is, else 'torch'."""
    if requested not in BACKENDS:
        raise ConfigError(f"renderer.backend: '{requested}' is not one of {', '.join(BACKENDS)}")
    if requested == "auto":
        if cuda_available():
            return "cuda"
        return "onnx" if onnxruntime_available() else "torch"
    if requested == "cuda" and not cuda_available():
        raise DeviceError("renderer.backend=cuda: no CUDA device (run `reenact doctor`)")
    if requested == "onnx" and not onnxruntime_available():
        raise DeviceError("renderer.backend=onnx: onnxruntime is not installed "
                          "(pip install 'reenact[onnx]')")
    return requested


def cpu_threads(requested: int) -> int:
    """Threads for a CPU backend: the configured number, else the cores this process may use."""
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
