"""The smooth ramp that blends one behaviour into another across a threshold."""

from __future__ import annotations

import numpy as np


def smoothstep(t):
    """3 t^2 - 2 t^3 of `t` clipped to [0, 1] (a float or an array): 0 up to 0, 1 from 1, with
    no step in value or slope at either end. Callers pass (x - start) / (end - start)."""
    t = np.minimum(np.maximum(t, 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)
