"""Outputs written whole or not at all: a temporary name beside the target, then a rename.

The temporary name is unique and created exclusively (`partial_beside`), so two writers of one
output never share it; `OutputLock` lets one run at a time write an output, and names the run
that holds it to any other.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no advisory locks here; the unique partial names still hold
    fcntl = None

from reenact.errors import DeviceError


def partial_beside(path: Path) -> tuple[int, Path]:
    """(open fd, path) of a new, empty `.NAME.XXXXXXXX.partial` beside `path`, created with
    O_EXCL so no other writer has it; `path`'s folder is made first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        # not tempfile.mkstemp: its 0600 would reach the output; 0666 here is cut by the umask
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write `data` to a fresh `.NAME.XXXXXXXX.partial` beside `path`, then rename it over
    `path`.

    Readers never see a half-written file; a failed write leaves no temporary behind.
    """
    path = Path(path)
    fd, tmp = partial_beside(path)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def lock_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.lock")


def _pid_in(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        return str(int(os.pread(fd, 32, 0).decode().strip()))
    return "unknown"


def _busy(output: Path, pid: str) -> DeviceError:
    return DeviceError(
        f"{output} is being written by another reenact run (pid {pid}); wait "
        f"for it to end or choose another output with --set sink.path=PATH"
    )


def check_not_locked(output: Path) -> None:
    """DeviceError when another process holds `output`'s `OutputLock` (a cheap look, made
    before a run loads anything; the lock itself is taken when the output is opened)."""
    if fcntl is None:
        return
    try:
        fd = os.open(lock_path(output), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:  # no lock file (or none we can read): nobody is writing it
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _busy(output, _pid_in(fd)) from None
    finally:
        os.close(fd)  # closing drops the shared lock, if it was taken


class OutputLock:
    """An exclusive advisory lock (`flock`) on `.NAME.lock` beside `output`, held from the
    output's opening to its rename; a second writer is refused with one line naming the pid that
    holds it. The kernel drops the lock when its process dies, so a killed run blocks nothing;
    `release()` deletes the lock file."""

    def __init__(self, output: Path) -> None:
        self.output, self.path, self._fd = output, lock_path(output), -1
        if fcntl is None:
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(8):  # a holder deleting the file as we open it: take the new one
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = _pid_in(fd)
                os.close(fd)
                raise _busy(output, pid) from None
            if self._is_current(fd):
                self._fd = fd
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                return
            os.close(fd)
        raise _busy(output, "unknown")

    def _is_current(self, fd: int) -> bool:
        """Whether `fd` is still the file at `self.path` (its last holder may have unlinked it)."""
        try:
            here = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)

    def release(self) -> None:
        """Delete the lock file and drop the lock; safe to call twice."""
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()  # while still held, so no one takes a file about to vanish
        os.close(self._fd)
        self._fd = -1


def json_safe(value: Any) -> Any:
    """Plain JSON data: numpy scalars and arrays to Python, NaN and +-inf to None."""
    import numpy as np

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
