"""What to show when the actor's face is lost: hold the last good output, then fade to neutral."""

from __future__ import annotations

import numpy as np


class FaceLostPolicy:
    """Hold the last good frame for `hold_s`, then cross-fade to the target's neutral over `fade_s`.

    All frames are (H, W, 3) uint8. Uses one preallocated float buffer for the fade.
    """

    def __init__(self, *, hold_s: float, fade_s: float) -> None:
        self.hold_s = hold_s
        self.fade_s = fade_s
        self.lost_since: float | None = None
        self._last_good: np.ndarray | None = None
        self._mix: np.ndarray | None = None

    def good(self, output: np.ndarray) -> None:
        """A frame with a tracked face: remember it and leave the lost state."""
        if self._last_good is None or self._last_good.shape != output.shape:
            self._last_good = np.empty_like(output)
        np.copyto(self._last_good, output)
        self.lost_since = None

    def lost(self, t_s: float, neutral: np.ndarray) -> np.ndarray:
        """The frame to show at time `t_s` (seconds) while no face is tracked."""
        if self.lost_since is None:
            self.lost_since = t_s
        if self._last_good is None or self._last_good.shape != neutral.shape:
            return neutral
        elapsed = t_s - self.lost_since
        if elapsed <= self.hold_s:
            return self._last_good
        a = 1.0 if self.fade_s <= 0 else min(1.0, (elapsed - self.hold_s) / self.fade_s)
        if a >= 1.0:
            return neutral
        if self._mix is None or self._mix.shape != neutral.shape:
            self._mix = np.empty(neutral.shape, np.float32)
        np.multiply(self._last_good, 1.0 - a, out=self._mix)
        self._mix += neutral * np.float32(a)
        return self._mix.astype(np.uint8)

    @property
    def last_good(self) -> np.ndarray | None:
        return self._last_good

    @property
    def is_lost(self) -> bool:
        return self.lost_since is not None
