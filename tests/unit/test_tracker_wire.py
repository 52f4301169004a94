"""The face mesh's landmark list read from its wire bytes equals reading it point by point."""

from __future__ import annotations

import numpy as np
from mediapipe.framework.formats import landmark_pb2

from reenact.landmarks.wire import landmarks_array as _to_array


def _pointwise(face, width, height) -> np.ndarray:
    return np.array([(p.x * width, p.y * height, p.z * width) for p in face.landmark], np.float32)


def test_wire_read_equals_point_by_point() -> None:
    rng = np.random.default_rng(0)
    face = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in rng.uniform(-0.2, 1.2, (478, 3)).astype(np.float32):
        face.landmark.add(x=x, y=y, z=z)
    face.landmark[7].x = 0.0  # a set zero is still written
    out = _to_array(face, 640, 480)
    assert out.shape == (478, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out, _pointwise(face, 640, 480))


def test_other_layouts_fall_back() -> None:
    face = landmark_pb2.NormalizedLandmarkList()
    face.landmark.add(x=0.5, y=0.25, z=0.1)
    face.landmark.add(x=0.2, y=0.3, z=0.4, visibility=0.9)  # an extra field: 20 bytes
    face.landmark.add(x=0.1, z=0.3)  # y unset: 12 bytes
    np.testing.assert_array_equal(_to_array(face, 10, 20), _pointwise(face, 10, 20))
