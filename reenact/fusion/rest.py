"""One feature's rest, learnt over a stream's first frames: the estimator the resting brows and
the closed mouth share (OpenSeeFace's `Feature` is the model: one class, an instance per
feature).

Each frame's reading of the feature (per column: a brow each, or the one mouth) goes into a
window of the first `adapt_frames` frames. Once `min_seen` are in, the window's rest (`rest_of`:
a median, or the median of the least open) is compared with the calibrated neutral's reading
(`offset_of`: how far the rest is off the neutral, in the feature's own terms). Within
`keep_within` of the neutral the neutral stands (an offset of 0: a neutral taken at rest stays
exactly as it was); further off the offset is followed, shrunk towards 0 as the non-negative
garrote does (nearly whole far out), at `rate` of the way a frame. Once the window is full the
offset is held, as the neutral is; `forget` starts the window again (a new calibration, or a new
actor). adapt_frames 0: the offset stays 0 (the calibrated neutral throughout).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ADAPT_RATE = 0.1  # share of the way to the window's rest moved each frame


def garrote(offset: np.ndarray, keep_within: float) -> np.ndarray:
    """`offset` shrunk towards 0 as the non-negative garrote does: 0 within `keep_within`,
    nearly whole far out."""
    return offset * np.maximum(1.0 - (keep_within / np.maximum(np.abs(offset), 1e-9)) ** 2, 0.0)


class RestFeature:
    """A feature's offset from the neutral at rest (module docstring).

    columns: readings per frame; min_seen: frames in the window before the rest leaves the
    neutral's; rest_of: (n, columns) window -> (columns,) rest; offset_of: (rest, neutral
    reading) -> (columns,) offset before the garrote; keep_within: the garrote's dead zone.
    """

    def __init__(
        self,
        *,
        adapt_frames: int,
        columns: int,
        min_seen: int,
        rest_of: Callable[[np.ndarray], np.ndarray],
        offset_of: Callable[[np.ndarray, np.ndarray], np.ndarray],
        keep_within: float,
        rate: float = ADAPT_RATE,
    ) -> None:
        self.adapt_frames = int(adapt_frames)
        self.columns, self.min_seen = int(columns), int(min_seen)
        self.rest_of, self.offset_of = rest_of, offset_of
        self.keep_within, self.rate = float(keep_within), float(rate)
        self._seen = np.empty((max(self.adapt_frames, 1), self.columns))  # the window ...
        self._next = 0  # ... in its first _next rows
        self._offset = np.zeros(self.columns)

    def forget(self) -> None:
        """Start the window again, `adapt_frames` long."""
        if len(self._seen) < self.adapt_frames:
            self._seen = np.empty((self.adapt_frames, self.columns))
        self._next = 0
        self._offset = np.zeros(self.columns)

    @property
    def learning(self) -> bool:
        """The window is open: a reading given to `observe` is taken (else it is not read)."""
        return 0 <= self._next < self.adapt_frames

    @property
    def offset(self) -> np.ndarray:
        """(columns,) the rest's offset from the neutral's (0 while the neutral's stands)."""
        return self._offset.copy()

    def observe(self, reading: np.ndarray, neutral: Callable[[], np.ndarray]) -> np.ndarray:
        """Add this frame's (columns,) reading to the window; returns `offset`. neutral: gives
        the neutral's (columns,) reading (called only when the rest is compared with it)."""
        if not self.learning:  # off, or held
            return self.offset
        self._seen[self._next] = reading
        self._next += 1
        if self._next < self.min_seen:
            return self.offset
        rest = self.rest_of(self._seen[: self._next])
        off = garrote(self.offset_of(rest, neutral()), self.keep_within)
        self._offset += self.rate * (off - self._offset)
        return self.offset


class RestWindow:
    """The window's controls for a class that learns its rest in `self.rest` (a `RestFeature`):
    `BrowRest` and `MouthRest` share them."""

    rest: RestFeature

    @property
    def adapt_frames(self) -> int:
        return self.rest.adapt_frames

    @adapt_frames.setter
    def adapt_frames(self, frames: int) -> None:
        self.rest.adapt_frames = int(frames)

    def forget(self) -> None:
        """Start the window again (a new calibration, or a new actor), `adapt_frames` long."""
        self.rest.forget()
