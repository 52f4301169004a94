"""How `reenact.landmarks.flip.MIRROR_PERMUTATION` was derived, kept to re-derive it.

`derive_mirror_permutation(faces, size)` mirrors the mean of aligned frontal neutral faces and
matches each point to a mirrored one by a minimum-cost assignment (Hungarian); the permutation
shipped in `reenact/landmarks/flip.py` came from 42 such faces at 256 (its module docstring;
docs/experiments/2026-11-27-constants-provenance-lab.md). Needs scipy.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def derive_mirror_permutation(faces: np.ndarray, size: int) -> np.ndarray:
    """The mirror permutation of the mesh from aligned frontal neutral faces.

    faces: (F, 478, 3) aligned crop pixels (eyes level, symmetric about x = size / 2).
    Returns (478,) int64: the minimum-cost matching of the mean face (z centred) with its mirror
    image. Raises ValueError when the matching is not an involution (faces not frontal enough).
    """
    pts = np.asarray(faces, dtype=np.float64).copy()
    pts[..., 2] -= pts[..., 2].mean(axis=-1, keepdims=True)
    mean = pts.mean(axis=0)
    mirrored = mean.copy()
    mirrored[:, 0] = size - mirrored[:, 0]
    cost = np.linalg.norm(mean[:, None, :] - mirrored[None, :, :], axis=2)
    _rows, perm = linear_sum_assignment(cost)
    if not np.array_equal(perm[perm], np.arange(len(perm))):
        raise ValueError("the mirror matching is not an involution; use frontal neutral faces")
    return perm.astype(np.int64)
