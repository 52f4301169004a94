"""How well an output series follows an actor series: Pearson r and regression gain.

Both take two 1-D series of one length (frames), NaN where a value is missing (a frame where the
face was not found): such frames are left out of both series.

Rules that make the numbers mean what a reader expects:
- an actor series that hardly moves (std below `min_actor_std`) gives NaN: there was nothing to
  follow, so the frame-to-frame noise would decide the score;
- an output series that does not move at all (std below 1e-9, e.g. the unchanged target) gives
  r = 0 and gain = 0: it follows nothing;
- fewer than `MIN_FRAMES` usable frames gives NaN.
"""

from __future__ import annotations

import numpy as np

MIN_FRAMES = 3
_FLAT = 1e-9


def _pair(actor, output) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actor, dtype=np.float64).reshape(-1)
    o = np.asarray(output, dtype=np.float64).reshape(-1)
    if a.shape != o.shape:
        raise ValueError(f"series lengths differ: {a.shape[0]} vs {o.shape[0]}")
    keep = np.isfinite(a) & np.isfinite(o)
    return a[keep], o[keep]


def pearson_r(actor, output, *, min_actor_std: float) -> float:
    """Pearson correlation of output with actor, in [-1, 1]; NaN / 0 as the module says."""
    a, o = _pair(actor, output)
    if len(a) < MIN_FRAMES or a.std() < min_actor_std:
        return float("nan")
    if o.std() < _FLAT:
        return 0.0
    return float(np.corrcoef(a, o)[0, 1])


def gain(actor, output, *, min_actor_std: float) -> float:
    """Least-squares slope of output on actor (1.0: the output moves as much as the actor)."""
    a, o = _pair(actor, output)
    if len(a) < MIN_FRAMES or a.std() < min_actor_std:
        return float("nan")
    if o.std() < _FLAT:
        return 0.0
    da = a - a.mean()
    return float(np.dot(da, o - o.mean()) / np.dot(da, da))


def nanmean(values) -> float:
    """Mean of the finite values; NaN when there is none."""
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")
