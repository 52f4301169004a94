"""Files of the evaluation: locating inputs, and writing outputs atomically (`reenact.atomic`).

Relative input paths are looked up in the working directory first, then in the repository root
(the folder holding `configs/`), so `configs/eval.yaml` can name `../shared/media/...` and work
from any working directory of a checkout.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from reenact.atomic import json_safe, write_atomic, write_json
from reenact.errors import InputError

__all__ = [
    "REPO_ROOT",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_png",
    "atomic_write_text",
    "json_safe",
    "resolve_input",
    "unique_names",
]

REPO_ROOT = Path(__file__).resolve().parents[3]


def resolve_input(path: str | os.PathLike[str], what: str) -> Path:
    """An existing input file: `path` as given, else relative to the repository root.

    what: "clip", "portrait", "generator weights" - named in the error.
    Raises InputError naming the file when neither exists.
    """
    given = Path(path)
    if given.is_file():
        return given
    if not given.is_absolute() and (REPO_ROOT / given).is_file():
        return REPO_ROOT / given
    raise InputError(
        f"{path}: {what} not found; check the path (relative paths are tried in the "
        f"working directory, then in {REPO_ROOT})"
    )


def unique_names(paths: Iterable[Path]) -> list[str]:
    """File stems made safe for file names and unique ('a', 'a_2', ...), in order."""
    names: list[str] = []
    for path in paths:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).stem) or "input"
        name, k = base, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` under a temporary name beside `path`, then rename it (`reenact.atomic`)."""
    return write_atomic(path, data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return write_atomic(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """JSON (indented; NaN and inf written as null), atomically: `reenact.atomic.write_json`."""
    return write_json(path, data)


def atomic_write_png(path: str | os.PathLike[str], image_rgb: np.ndarray) -> Path:
    """image_rgb: (H,W,3) uint8 RGB -> PNG, atomically."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise InputError(f"{path}: could not encode the image as PNG")
    return atomic_write_bytes(path, encoded.tobytes())
