"""Weights shipped with the package (`reenact/models/`), and finding the weights a config names."""

from __future__ import annotations

from pathlib import Path

from reenact.errors import WeightsError

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"


def shipped_weights(kind: str, size: int = 256, *, backend: str = "cpu") -> Path | None:
    """The weights shipped with the package for 'fusion' or 'generator', if present.

    Two generator widths may ship, picked by backend: `generator_<size>_gpu.safetensors` (the
    wide model) for "cuda", `generator_<size>_cpu.safetensors` (the narrow one) for any other
    backend; when the backend's own is absent, `generator_<size>.safetensors`.
    """
    if kind == "fusion":
        names = ["fusion.safetensors"]
    else:
        device = "gpu" if backend == "cuda" else "cpu"
        names = [f"generator_{size}_{device}.safetensors", f"generator_{size}.safetensors"]
    for name in names:
        if (MODELS_DIR / name).is_file():
            return MODELS_DIR / name
    return None


def find_weights(explicit: str, kind: str, size: int = 256, *, backend: str = "cpu") -> Path | None:
    """`explicit` when given (a WeightsError naming it when missing), else the shipped weights
    of `kind` ('fusion' / 'generator') at `size` for `backend`, else None."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise WeightsError(f"{explicit}: {kind} weights not found")
        return path
    return shipped_weights(kind, size, backend=backend)


def find_generator(config) -> Path | None:
    """The generator weights a config names: `renderer.weights`, else the shipped model for the
    backend the generator would run on (`renderer.backend`, 'auto' resolved)."""
    from reenact.engine.device import resolve_backend

    backend = resolve_backend(config.renderer.backend)
    return find_weights(config.renderer.weights, "generator", config.renderer.size, backend=backend)
