"""The actor's neutral face: the per-point median of the first tracked (aligned) frames.

The expression is measured as a deviation from this neutral, so it is calibrated once at the
start of a session (the actor keeps a relaxed face for `frames` frames), can be redone on demand
(`reset()`), set directly, or saved to and loaded from an .npz file.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from reenact.errors import InputError

NEUTRAL_SHAPE = (478, 3)


class NeutralCalibrator:
    """Collects aligned landmarks until `frames` are in, then holds their median as the neutral.

    frames: how many frames to collect (>= 1).
    """

    def __init__(self, *, frames: int) -> None:
        if frames < 1:
            raise ValueError(f"NeutralCalibrator needs frames >= 1, got {frames}")
        self.frames = int(frames)
        self._buffer = np.empty((self.frames, *NEUTRAL_SHAPE), dtype=np.float32)
        self._count = 0
        self._neutral: np.ndarray | None = None

    @property
    def neutral(self) -> np.ndarray | None:
        """(478,3) float32 aligned crop coordinates, or None while calibrating."""
        return self._neutral

    @property
    def complete(self) -> bool:
        return self._neutral is not None

    @property
    def collected(self) -> int:
        """Frames collected so far in the current calibration."""
        return self._count

    def add(self, aligned_landmarks: np.ndarray) -> bool:
        """Add one frame's aligned landmarks (478,3); True once the neutral is known.

        Frames added after completion are ignored (call `reset()` to recalibrate).
        """
        if self._neutral is not None:
            return True
        lm = np.asarray(aligned_landmarks, dtype=np.float32)
        if lm.shape != NEUTRAL_SHAPE:
            raise ValueError(f"expected aligned landmarks {NEUTRAL_SHAPE}, got {lm.shape}")
        self._buffer[self._count] = lm
        self._count += 1
        if self._count == self.frames:
            self._neutral = np.median(self._buffer, axis=0).astype(np.float32)
        return self._neutral is not None

    def reset(self) -> None:
        """Start calibrating again."""
        self._count = 0
        self._neutral = None

    def set(self, neutral: np.ndarray) -> None:
        """Use this neutral (478,3) directly; calibration is complete."""
        lm = np.asarray(neutral, dtype=np.float32)
        if lm.shape != NEUTRAL_SHAPE or not np.isfinite(lm).all():
            raise ValueError(f"neutral must be finite {NEUTRAL_SHAPE}, got {lm.shape}")
        self._neutral = lm.copy()
        self._count = self.frames

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the neutral to `path` (.npz, key "neutral"), atomically (temp name + rename)."""
        if self._neutral is None:
            raise RuntimeError("no neutral to save: calibration is not complete")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, neutral=self._neutral, frames=np.int64(self.frames))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, path: str | os.PathLike[str]) -> np.ndarray:
        """Read a neutral saved by `save` (never unpickles) and use it. Returns (478,3) float32.

        Raises InputError naming the file when it is missing, unreadable or of the wrong shape.
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                neutral = np.asarray(data["neutral"], dtype=np.float32)
        except FileNotFoundError:
            raise InputError(f"{path}: neutral file not found; check stream.neutral_path") from None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise InputError(
                f"{path}: not a saved neutral ({type(exc).__name__}); recalibrate and save again"
            ) from None
        if neutral.shape != NEUTRAL_SHAPE or not np.isfinite(neutral).all():
            raise InputError(
                f"{path}: neutral has shape {neutral.shape}, expected {NEUTRAL_SHAPE}; "
                "recalibrate and save again"
            )
        self.set(neutral)
        return self._neutral
