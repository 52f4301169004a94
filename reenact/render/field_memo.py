"""Backward fields shared between the fields of one mesh.

Each frame the warp renderer (`reenact.render.warp`) and the picture's detail layer
(`reenact.pipeline.detail`) each invert the same move of the same target mesh: two `MeshField`s
built from one target's landmarks, the drawn landmarks' displacement and depth. `moved_back` keeps
the last few results, matched by value (the mesh's `key`, the iterations, the displacement and the
depth), so the second to ask gets the first one's array: the same function of the same inputs,
bit for bit, at no cost. A new target has another key; a result is read-only.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Protocol

import numpy as np


class InvertibleField(Protocol):
    """What `moved_back` asks of a field: `reenact.render.field.MeshField`'s key and maps."""

    key: bytes

    def forward(self, displacement: np.ndarray) -> np.ndarray: ...

    def backward(
        self,
        field: np.ndarray,
        iterations: int,
        depth: np.ndarray | None = None,
        window: tuple[int, int, int, int] | None = None,
    ) -> np.ndarray: ...


# rendering ahead, the next frame's warp runs before this frame's detail layer: two frames, and
# room for a second stream
CAPACITY = 4


def mesh_key(
    points: np.ndarray,
    triangles: np.ndarray,
    num_free: int,
    roi: tuple[int, int, int, int],
    grid: int,
) -> bytes:
    """A digest of everything a `MeshField`'s maps depend on."""
    digest = hashlib.blake2b(repr((int(num_free), tuple(int(v) for v in roi), int(grid))).encode())
    for array in (np.asarray(points, np.float64), np.asarray(triangles, np.int64)):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.digest()


class BackwardMemo:
    """The last `capacity` backward fields by (mesh key, iterations, displacement, depth)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._entries: list[tuple] = []
        self._lock = threading.Lock()

    def find(
        self, key: bytes, displacement: np.ndarray, iterations: int, depth: np.ndarray | None
    ) -> np.ndarray | None:
        """The kept result for these inputs (equal values), else None."""
        with self._lock:
            entries = list(self._entries)
        for k, n, disp, z, back in entries:
            if k != key or n != iterations or (z is None) != (depth is None):
                continue
            if np.array_equal(disp, displacement) and (
                z is None or depth is not None and np.array_equal(z, depth)
            ):
                return back
        return None

    def keep(
        self,
        key: bytes,
        displacement: np.ndarray,
        iterations: int,
        depth: np.ndarray | None,
        back: np.ndarray,
    ) -> None:
        """Keep `back` (made read-only) for these inputs (copied), dropping the oldest."""
        back.setflags(write=False)
        entry = (
            key,
            int(iterations),
            np.array(displacement),
            None if depth is None else np.array(depth),
            back,
        )
        with self._lock:
            self._entries = [entry, *self._entries[: self.capacity - 1]]

    def clear(self) -> None:
        with self._lock:
            self._entries = []

    def __len__(self) -> int:
        return len(self._entries)


BACKWARDS = BackwardMemo()


def moved_back(
    field: InvertibleField,
    displacement: np.ndarray,
    iterations: int,
    depth: np.ndarray | None = None,
    *,
    shared: bool = True,
    window: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """`field.backward(field.forward(displacement), iterations, depth)`: (G,G,2) float32,
    read-only, shared with every field of the same mesh (`MeshField.key`) through `BACKWARDS`
    (`shared` False: computed and kept by no one, for fields no other step inverts; only then
    may a `window` of grid samples be asked for, as `MeshField.backward` takes it)."""
    memo = BACKWARDS if shared else None
    found = None if memo is None else memo.find(field.key, displacement, iterations, depth)
    if found is None:
        found = field.backward(
            field.forward(displacement), iterations, depth, None if shared else window
        )
        if memo is not None:
            memo.keep(field.key, displacement, iterations, depth, found)
    return found
