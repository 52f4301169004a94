"""What the warp cannot draw, each behind one contract (`base`), applied by one module (`apply`).

`Layer`, `MapOverride` and `Correction` are defined in `base`; `build.warp_corrections` makes the
warp's list in its order; docs/CORRECTIONS.md holds a commented do-nothing correction to start
a new one from.
"""

from reenact.render.corrections.base import Box, Correction, Layer, MapOverride

__all__ = ["Box", "Correction", "Layer", "MapOverride"]
