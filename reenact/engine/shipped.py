"""Weights shipped with the package (`reenact/models/`), and finding the weights a config names."""

from __future__ import annotations

from pathlib import Path

from reenact.errors import WeightsError

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"


def shipped_weights(kind: str, size: int = 256) -> Path | None:
    """The weights shipped with the package for 'fusion' or 'generator', if present."""
    name = "fusion.safetensors" if kind == "fusion" else f"generator_{size}.safetensors"
    path = MODELS_DIR / name
    return path if path.is_file() else None


def find_weights(explicit: str, kind: str, size: int = 256) -> Path | None:
    """`explicit` when given (a WeightsError naming it when missing), else the shipped weights
    of `kind` ('fusion' / 'generator') at `size`, else None."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise WeightsError(f"{explicit}: {kind} weights not found")
        return path
    return shipped_weights(kind, size)
