"""The face mesh's landmark list read from its wire bytes equals reading it point by point; the
Tasks backend's arrays (MediaPipe 1.x) are scaled the same way."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.landmarks.wire import landmarks_array as _to_array


def _landmark_pb2():
    """The legacy landmark protobufs, which only MediaPipe 0.10.x ships."""
    return pytest.importorskip(
        "mediapipe.framework.formats.landmark_pb2",
        reason="MediaPipe 1.x has no legacy landmark protobufs (the Tasks backend hands arrays)",
    )


def _pointwise(face, width, height) -> np.ndarray:
    return np.array([(p.x * width, p.y * height, p.z * width) for p in face.landmark], np.float32)


def test_wire_read_equals_point_by_point() -> None:
    rng = np.random.default_rng(0)
    face = _landmark_pb2().NormalizedLandmarkList()
    for x, y, z in rng.uniform(-0.2, 1.2, (478, 3)).astype(np.float32):
        face.landmark.add(x=x, y=y, z=z)
    face.landmark[7].x = 0.0  # a set zero is still written
    out = _to_array(face, 640, 480)
    assert out.shape == (478, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out, _pointwise(face, 640, 480))


def test_other_layouts_fall_back() -> None:
    face = _landmark_pb2().NormalizedLandmarkList()
    face.landmark.add(x=0.5, y=0.25, z=0.1)
    face.landmark.add(x=0.2, y=0.3, z=0.4, visibility=0.9)  # an extra field: 20 bytes
    face.landmark.add(x=0.1, z=0.3)  # y unset: 12 bytes
    np.testing.assert_array_equal(_to_array(face, 10, 20), _pointwise(face, 10, 20))


def test_tasks_arrays_are_scaled_like_the_wire() -> None:
    """The Tasks stand-in hands (N,3) float32 normalised points: x and z by the width, y by the
    height, as the legacy lists; the input is left as it was."""
    points = np.random.default_rng(1).uniform(-0.2, 1.2, (478, 3)).astype(np.float32)
    before = points.copy()
    out = _to_array(points, 640, 480)
    assert out.shape == (478, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, 0], points[:, 0] * 640)
    np.testing.assert_array_equal(out[:, 1], points[:, 1] * 480)
    np.testing.assert_array_equal(out[:, 2], points[:, 2] * 640)
    np.testing.assert_array_equal(points, before)
