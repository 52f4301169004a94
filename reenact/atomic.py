"""Outputs written whole or not at all: a temporary name beside the target, then a rename."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write `data` to `.NAME.PID.partial` beside `path`, then rename it over `path`.

    Readers never see a half-written file; a failed write leaves no temporary behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def json_safe(value: Any) -> Any:
    """Plain JSON data: numpy scalars and arrays to Python, NaN and +-inf to None."""
    import numpy as np  # noqa: PLC0415

    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | os.PathLike[str], value: Any) -> Path:
    """`value` as indented strict JSON (NaN and inf written as null), atomically."""
    return write_atomic(path, json.dumps(json_safe(value), indent=2, allow_nan=False) + "\n")
