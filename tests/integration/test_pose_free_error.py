"""The eval's expression error ignores the head's pose (head motion moves it on purpose) but
still sees the expression: on real faces tracked by MediaPipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reenact.imageio import load_image
from reenact.landmarks.tracker import FaceTracker
from reenact_lab.metrics.landmarks import landmark_error, pose_free_error


def _track(path: Path) -> np.ndarray:
    image = load_image(path)
    with FaceTracker(static=True) as tracker:
        found = tracker.track_one(image)
    assert found is not None, path
    return found


def _moved(points: np.ndarray, degrees: float, scale: float, shift: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    centre = points[:, :2].mean(0)
    out = points.copy()
    out[:, :2] = (points[:, :2] - centre) @ rotation.T * scale + centre + shift
    return out


@pytest.fixture(scope="module")
def faces(media_dir: Path) -> dict[str, np.ndarray]:
    return {c: _track(media_dir / "expressions" / f"01_{c}.png") for c in ("normal", "surprised")}


def test_a_moved_head_with_the_same_expression_costs_nothing(faces):
    surprised = faces["surprised"]
    moved = _moved(surprised, 12.0, 1.08, 9.0)
    assert landmark_error(moved, surprised) > 0.1  # the plain error counts the pose
    assert pose_free_error(moved, surprised) < 1e-3


def test_another_expression_still_counts_whatever_the_pose(faces):
    neutral, surprised = faces["normal"], faces["surprised"]
    still = pose_free_error(neutral, surprised)
    assert still > 0.03  # a surprised face is not a neutral one
    assert pose_free_error(_moved(neutral, -10.0, 0.93, -7.0), surprised) == pytest.approx(
        still, rel=0.05
    )
