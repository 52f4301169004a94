"""Temporal measures: inter-frame SSIM (PAPERS.md section 2: > 0.92 for smooth video) and
landmark jitter on the stillest stretch of the driving clip.

Only pairs of *consecutive* clip frames count: a gap (a frame with no face, or the calibration)
breaks the sequence rather than comparing frames far apart.
"""

from __future__ import annotations

import numpy as np

from reenact_lab.metrics.image import ssim
from reenact_lab.metrics.landmarks import landmark_jitter, stillest_stretch


class TemporalSSIM:
    """Streaming inter-frame SSIM: `add(frame_index, crop)` in order; holds one crop.

    crops: (S,S,3) uint8. `values` are the SSIMs of pairs (i, i+1) of consecutive indices.
    """

    def __init__(self) -> None:
        self.values: list[float] = []
        self._previous: tuple[int, np.ndarray] | None = None

    def add(self, frame: int, crop: np.ndarray) -> None:
        if self._previous is not None and self._previous[0] == frame - 1:
            self.values.append(ssim(self._previous[1], crop))
        self._previous = (frame, crop.copy())

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")


def temporal_ssim_of(crops: np.ndarray, frames: list[int]) -> TemporalSSIM:
    """Inter-frame SSIM of `crops[frames]` (crops: (T,S,S,3) uint8; frames in order)."""
    measure = TemporalSSIM()
    for frame in frames:
        measure.add(frame, crops[frame])
    return measure


def longest_run(frames: list[int]) -> tuple[int, int]:
    """(start, end), end exclusive: the longest run of consecutive integers in sorted `frames`."""
    if not frames:
        return 0, 0
    best = (frames[0], frames[0] + 1)
    start = frames[0]
    for previous, current in zip(frames, frames[1:]):
        if current != previous + 1:
            start = current
        if current + 1 - start > best[1] - best[0]:
            best = (start, current + 1)
    return best


def still_stretch(
    driver_landmarks: np.ndarray, frames: list[int], length: int
) -> tuple[int, int] | None:
    """The stillest `length` frames (head motion of the driver) inside the longest run of
    consecutive `frames`; shorter when the run is. None when the run has fewer than 2 frames.

    driver_landmarks: (T,478,3) image pixels of the driving clip (finite on `frames`).
    Returns (start, end) clip frame indices, end exclusive.
    """
    run_start, run_end = longest_run(frames)
    n = min(int(length), run_end - run_start)
    if n < 2:
        return None
    start, end = stillest_stretch(driver_landmarks[run_start:run_end], n)
    return run_start + start, run_start + end


def jitter_on(landmarks: np.ndarray, frames: list[int], stretch: tuple[int, int] | None) -> float:
    """landmark_jitter of the rows of `landmarks` whose frame lies in `stretch`.

    landmarks: (N,478,2|3) with `frames` (N,) their clip frame indices. NaN when the stretch is
    None or any of its frames is missing or has NaN landmarks (e.g. the re-tracker lost the face).
    """
    if stretch is None:
        return float("nan")
    wanted = list(range(*stretch))
    position = {f: i for i, f in enumerate(frames)}
    if any(f not in position for f in wanted):
        return float("nan")
    seq = landmarks[[position[f] for f in wanted]]
    if not np.isfinite(seq[..., :2]).all():
        return float("nan")
    return landmark_jitter(seq)
