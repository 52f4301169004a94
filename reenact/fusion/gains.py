"""Per-region gains on the fused expression: damp a mouth, exaggerate brows, live.

    J' = L_t + g(p) * (J_gen - L_t)

applied after fusion to the deviation from the target's neutral L_t. g(p) is one gain per region
(`GAIN_NAMES`: eyes with irises, brows, mouth, jaw; `reenact.landmarks.expressiveness.GAIN_REGIONS`) on
that region's points, 1 on the nose and the upper face, and spread smoothly over the rest of the
mesh (harmonic interpolation over the mesh graph, as the training-free transfer spreads its
scales), so a damped mouth does not tear from the cheeks. All gains 1 = unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from reenact.fusion.harmonic import HarmonicBlend
from reenact.landmarks.expressiveness import GAIN_REGIONS
from reenact.landmarks.regions import REGIONS

GAIN_NAMES = tuple(GAIN_REGIONS)  # eyes, brows, mouth, jaw
GAIN_RANGE = (0.0, 2.0)
_FIXED = "fixed"  # nose and upper face oval: gain 1

_BLEND: HarmonicBlend | None = None


def _blend() -> HarmonicBlend:
    global _BLEND  # built on first use (a small linear solve), never at import
    if _BLEND is None:
        upper = np.setdiff1d(REGIONS["face_oval"], GAIN_REGIONS["jaw"])
        members = {
            **GAIN_REGIONS,
            _FIXED: np.setdiff1d(
                np.r_[REGIONS["nose"], upper], np.concatenate(list(GAIN_REGIONS.values()))
            ),
        }
        _BLEND = HarmonicBlend(members)
    return _BLEND


def check_gain(name: str, value: float) -> float:
    """`value` as a float if `name` is a region and value is in GAIN_RANGE; else ValueError."""
    if name not in GAIN_NAMES:
        raise ValueError(f"fusion.gains: unknown region '{name}'; valid: {', '.join(GAIN_NAMES)}")
    low, high = GAIN_RANGE
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ValueError(f"fusion.gains.{name}: {value!r} is outside {low:g} .. {high:g}")
    return float(value)


class RegionGains:
    """The four gains, changeable between frames (`set`), and their per-point weights.

    initial: {region: gain} (missing regions are 1).
    """

    def __init__(self, initial: dict[str, float] | None = None) -> None:
        self.values = {name: 1.0 for name in GAIN_NAMES}
        for name, value in (initial or {}).items():
            self.set(name, value)
        self._weights: np.ndarray | None = None

    def set(self, name: str, value: float) -> float:
        """Set one region's gain (range-checked, ValueError naming it); returns it."""
        self.values[name] = check_gain(name, value)
        self._weights = None
        return self.values[name]

    def get(self, name: str) -> float:
        return self.values[name]

    @property
    def neutral(self) -> bool:
        """True when every gain is 1 (apply is then a no-op)."""
        return all(v == 1.0 for v in self.values.values())

    def weights(self) -> np.ndarray:
        """(478,1) float32 per-point gain."""
        if self._weights is None:
            blend = _blend()
            region = np.array([[self.values.get(n, 1.0)] * 2 for n in blend.names])
            self._weights = blend.values(region)[:, :1].astype(np.float32)
        return self._weights

    def apply(self, fused: np.ndarray, target_neutral: np.ndarray) -> np.ndarray:
        """fused J_gen, target_neutral L_t: (478,3) crop pixels -> (478,3) float32."""
        if self.neutral:
            return fused
        base = np.asarray(target_neutral, np.float32)
        return base + self.weights() * (np.asarray(fused, np.float32) - base)
