"""Which backend runs the generator, and the thread settings of CPU backends.

Nothing here runs at import time; callers ask when they build a runner.
"""

from __future__ import annotations

import ctypes.util
import glob
import importlib.util
import os
import sys

from reenact.errors import ConfigError, DeviceError

BACKENDS = ("auto", "torch", "onnx", "cuda")


def torch_available() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # an import hook that refuses it: as good as absent
        return False


def _nvidia_driver_present() -> bool:
    """Whether this machine shows an NVIDIA driver, looked up without importing torch (which
    costs seconds and is not needed on the CPU path)."""
    if sys.platform == "win32":
        return ctypes.util.find_library("nvcuda") is not None
    if sys.platform == "darwin":
        return False
    return (
        os.path.exists("/proc/driver/nvidia/version")
        or bool(glob.glob("/dev/nvidia[0-9]*"))
        or os.path.exists("/dev/dxg")
    )  # WSL2 passes the GPU through /dev/dxg


def cuda_available() -> bool:
    """A CUDA device torch can use (False without torch or without an NVIDIA driver, in which
    case torch is never imported)."""
    if not torch_available() or not _nvidia_driver_present():
        return False
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
        raise DeviceError(
            "renderer.backend=onnx: onnxruntime is not installed (pip install onnxruntime)"
        )
    if requested == "torch" and not torch_available():
        raise DeviceError(
            "renderer.backend=torch: torch is not installed (install the "
            "[train] extra: pip install 'reenact[train]'; or use renderer.backend=onnx)"
        )
    return requested


def cpu_threads(requested: int) -> int:
    """Threads for a CPU backend: the configured number, else the cores this process may use."""
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
