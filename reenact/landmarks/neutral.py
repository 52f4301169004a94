"""The actor's neutral face: the per-point median of the least expressive of the first frames.

The expression is measured as a deviation from this neutral, so it is calibrated at the start of
a session, can be redone on demand (`reset()`), set directly, or saved to and loaded from an .npz
file. The calibrator watches a short `window` of tracked (aligned) frames and keeps the least
expressive of them (`reenact.landmarks.expressiveness.expressiveness`: mouth closed and not stretched,
eyes and brows at their usual place): an actor who starts out talking or smiling still closes
their mouth between words, and those frames become the neutral. A first estimate is ready after
`frames` frames (the least expressive third of them), so output starts as soon as before; it is
refined with every frame until the window is full (`complete`), then held. With
window == frames every frame counts (the plain median of the first frames).
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from reenact.errors import InputError

NEUTRAL_SHAPE = (478, 3)


def least_expressive_median(window: np.ndarray, frames: int) -> np.ndarray:
    """(W,478,3) aligned frames -> (478,3) float32: per-point median of the `frames` least
    expressive of them (all W when frames >= W)."""
    from reenact.landmarks.expressiveness import expressiveness

    if frames < len(window):
        window = window[np.argsort(expressiveness(window), kind="stable")[:frames]]
    return np.median(window, axis=0).astype(np.float32)


class NeutralCalibrator:
    """Collects `window` aligned frames, then holds the median of the `frames` least expressive.

    frames: how many frames make the neutral (>= 1); window: how many are watched (>= frames;
    0 = frames).
    """

    def __init__(self, *, frames: int, window: int = 0) -> None:
        if frames < 1:
            raise ValueError(f"NeutralCalibrator needs frames >= 1, got {frames}")
        if window and window < frames:
            raise ValueError(f"NeutralCalibrator needs window >= frames ({frames}), got {window}")
        self.frames = int(frames)
        self.window = int(window or frames)
        self._buffer = np.empty((self.window, *NEUTRAL_SHAPE), dtype=np.float32)
        self._count = 0
        self._neutral: np.ndarray | None = None

    @property
    def neutral(self) -> np.ndarray | None:
        """(478,3) float32 aligned crop coordinates, or None while calibrating."""
        return self._neutral

    @property
    def complete(self) -> bool:
        """True once the whole window is in (or a neutral was set / loaded): the neutral is held."""
        return self._neutral is not None and self._count >= self.window

    @property
    def collected(self) -> int:
        """Frames collected so far in the current calibration."""
        return self._count

    def add(self, aligned_landmarks: np.ndarray) -> bool:
        """Add one frame's aligned landmarks (478,3); True once a neutral is known (it is refined
        until `complete`). Frames added after completion are ignored (`reset()` recalibrates).
        """
        if self.complete:
            return True
        lm = np.asarray(aligned_landmarks, dtype=np.float32)
        if lm.shape != NEUTRAL_SHAPE:
            raise ValueError(f"expected aligned landmarks {NEUTRAL_SHAPE}, got {lm.shape}")
        self._buffer[self._count] = lm
        self._count += 1
        if self._count == self.window:
            self._neutral = least_expressive_median(self._buffer, self.frames)
        elif self._count >= self.frames:  # a first estimate, refined until the window is full
            keep = max(1, min(self.frames, self._count // 3))
            self._neutral = least_expressive_median(self._buffer[: self._count], keep)
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
        self._count = self.window

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
            raise InputError(
                f"{path}: neutral file not found; check calibration.neutral_path"
            ) from None
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
