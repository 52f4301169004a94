"""Values fixed on some regions of the face mesh, spread harmonically over the rest of it.

The training-free transfer spreads its per-region scales this way, the per-region gains their
gains, and the resting brows each brow's shift (`reenact.fusion.transfer`, `.gains`, `.brows`).
"""

from __future__ import annotations

import numpy as np

from reenact.landmarks.regions import TRIANGLES
from reenact.landmarks.tracker import NUM_LANDMARKS


class HarmonicBlend:
    """Spreads values fixed on the region points over the rest of the mesh (graph Laplacian).

    values(pinned (P,2)) -> (478,2): pinned points keep theirs; every other point gets the mean
    of its mesh neighbours', i.e. the harmonic interpolation. The solve is done once.
    """

    def __init__(self, members: dict[str, np.ndarray]) -> None:
        self.names = list(members)
        pinned = np.concatenate([members[n] for n in self.names])
        self.owner = np.concatenate([np.full(len(members[n]), i) for i, n in enumerate(self.names)])
        self.pinned = pinned
        n = NUM_LANDMARKS
        adjacency = np.zeros((n, n))
        for a, b in ((0, 1), (1, 2), (2, 0)):
            adjacency[TRIANGLES[:, a], TRIANGLES[:, b]] = 1.0
            adjacency[TRIANGLES[:, b], TRIANGLES[:, a]] = 1.0
        laplacian = np.diag(adjacency.sum(axis=1)) - adjacency
        is_free = np.ones(n, dtype=bool)
        is_free[pinned] = False
        free = np.flatnonzero(is_free & (adjacency.sum(axis=1) > 0))
        self.free = free
        l_ff = laplacian[np.ix_(free, free)]
        l_fp = laplacian[np.ix_(free, pinned)]
        self.operator = -np.linalg.solve(l_ff, l_fp)  # (F, P)

    def values(self, region_values: np.ndarray) -> np.ndarray:
        """region_values: (R,2) one value per region (order of `names`) -> (478,2) per point."""
        out = np.ones((NUM_LANDMARKS, 2))
        pinned_values = region_values[self.owner]
        out[self.pinned] = pinned_values
        out[self.free] = self.operator @ pinned_values
        return out
