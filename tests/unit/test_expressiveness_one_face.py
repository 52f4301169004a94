"""One face's expression features in Python floats (reenact.landmarks.expressiveness): bit for
bit what numpy's mean and norm give, the path a batch of faces still takes, on a real face
tracked by MediaPipe and on that face moved every way."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.config.schema import TrackerConfig
from reenact.landmarks.expressiveness import features, inter_ocular
from reenact.landmarks.tracker import detect_target_face


@pytest.fixture(scope="module")
def faces(portraits_dir: Path) -> list[np.ndarray]:
    """A real face (478,3) float32 and 300 moves of it, small and large, float32 and float64."""
    image = cv2.cvtColor(cv2.imread(str(portraits_dir / "lp_s11.jpg")), cv2.COLOR_BGR2RGB)
    face = detect_target_face(image, TrackerConfig(), source_name="lp_s11.jpg")
    rng = np.random.default_rng(7)
    out = [face, face[:, :2].copy(), face.astype(np.float64)]
    for i in range(300):
        noise = rng.normal(0.0, 10.0 ** rng.uniform(-4, 1.5), face.shape)
        out.append((face + noise).astype(np.float32 if i % 2 else np.float64))
    return out


def test_one_face_reads_as_the_batch_does(faces):
    batch = np.stack([f[:, :2].astype(np.float64) for f in faces])
    many, iods = features(batch), inter_ocular(batch)
    for i, face in enumerate(faces):
        one = features(face)
        assert one.dtype == np.float64 and one.shape == (6,)
        assert np.array_equal(one, many[i]), i  # bit for bit, not merely close
        iod = inter_ocular(face)
        assert isinstance(iod, np.float64) and iod == iods[i]


def test_a_face_with_no_eye_distance_stays_finite():
    face = np.zeros((478, 3), np.float32)
    assert np.array_equal(features(face), features(face[None])[0])
    assert np.isfinite(features(face)).all()
