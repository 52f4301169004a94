"""Outputs written whole or not at all: a temporary name beside the target, then a rename."""

from __future__ import annotations

import json
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


def write_json(path: str | os.PathLike[str], value: Any) -> Path:
    """`value` as indented JSON, atomically."""
    return write_atomic(path, json.dumps(value, indent=2) + "\n")
