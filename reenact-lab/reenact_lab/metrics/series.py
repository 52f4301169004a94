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


def _pair(*series) -> tuple[np.ndarray, ...]:
    """The series (each flattened, float64) on the frames where every one is finite."""
    flat = [np.asarray(x, dtype=np.float64).reshape(-1) for x in series]
    if len({x.shape for x in flat}) > 1:
        raise ValueError("series lengths differ: " + " vs ".join(str(len(x)) for x in flat))
    keep = np.logical_and.reduce([np.isfinite(x) for x in flat])
    return tuple(x[keep] for x in flat)


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


def gain_sides(actor, output, *, min_actor_std: float) -> tuple[float, float]:
    """The slopes of output on actor below and above the actor's neutral (0): (below, above),
    below for an eye closing, a mouth narrowing, a brow lowering, above for opening, widening,
    raising (1.0: that direction drawn as far as the actor moves).

    `gain` is one slope over both directions: a drawing that shows a closing whole but hardly
    any widening scores about the mean of the two, and the report cannot say which is short.
    Fitted together by least squares as one line bent at the actor's neutral,
    output = c + below min(actor, 0) + above max(actor, 0): the kink is where both faces rest,
    and the offset c is fitted with them, so an output read a little off its rest throughout
    (the re-tracker's own offset on that picture) tilts neither slope. A side is NaN where
    fewer than MIN_FRAMES frames lie on it or their root mean square is below `min_actor_std`
    (the actor barely went that way; the other side is then a plain line). An output that does
    not move (std below 1e-9) gives 0 on each side the actor went; NaN frames are left out."""
    a, o = _pair(actor, output)
    nan = float("nan")
    parts = {}
    for side, part in ((-1, np.minimum(a, 0.0)), (1, np.maximum(a, 0.0))):
        on = a * side > 0
        if on.sum() >= MIN_FRAMES and np.sqrt(np.mean(a[on] ** 2)) >= min_actor_std:
            parts[side] = part
    if not parts:
        return nan, nan
    if o.std() < _FLAT:
        return tuple(0.0 if side in parts else nan for side in (-1, 1))
    design = np.stack([np.ones_like(a), *parts.values()], axis=1)
    slopes = dict(zip(parts, np.linalg.lstsq(design, o, rcond=None)[0][1:]))
    return tuple(float(slopes[side]) if side in slopes else nan for side in (-1, 1))


def gain_iv(actor, reread, output, *, min_actor_std: float) -> float:
    """The slope of output on the actor's *true* series, from two readings of the actor:
    cov(output, reread) / cov(actor, reread), the instrumental-variable (two-stage least
    squares) estimate with the second reading as the instrument.

    `gain` is pulled towards 0 by the actor reading's own noise (regression dilution: a faithful
    copy of the actor's face, re-read, scores the reading's reliability, not 1). A second
    reading whose noise is independent of the first's and of the output's cancels that: the
    noise is in neither covariance. Frames missing in any of the three are left out; NaN as
    `gain`, and where the two readings do not co-vary positively (no usable instrument)."""
    a, z, o = _pair(actor, reread, output)
    if len(a) < MIN_FRAMES or a.std() < min_actor_std:
        return float("nan")
    if o.std() < _FLAT:
        return 0.0
    dz = z - z.mean()
    first = float(np.dot(dz, a - a.mean()))
    return float(np.dot(dz, o - o.mean()) / first) if first > 0 else float("nan")


def nanmean(values) -> float:
    """Mean of the finite values; NaN when there is none."""
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")
