"""Left-right flips: the mesh's mirror permutation, checked on its own and against the tracker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reenact.landmarks.regions import REGIONS
from reenact.landmarks.flip import MIRROR_PERMUTATION, flip_landmarks
from reenact_lab.train.augment import flip_image
from reenact_lab.train.prepare import read_still

# the face's 28 midline points: the ones the mirror permutation fixes (flip.py's docstring)
MIDLINE = (*range(3), *range(4, 7), *range(8, 20), 94, 151, 152, 164, 168, 175, 195, 197, 199, 200)


def test_permutation_is_an_involution_of_all_points():
    perm = MIRROR_PERMUTATION
    assert perm.shape == (478,)
    assert sorted(perm.tolist()) == list(range(478))
    assert np.array_equal(perm[perm], np.arange(478))
    assert sorted(np.flatnonzero(perm == np.arange(478)).tolist()) == list(MIDLINE)


@pytest.mark.parametrize(
    "left, right",
    [
        ("left_eye", "right_eye"),
        ("left_brow", "right_brow"),
        ("left_iris", "right_iris"),
    ],
)
def test_left_regions_map_to_right_regions(left, right):
    assert set(MIRROR_PERMUTATION[REGIONS[left]].tolist()) == set(REGIONS[right].tolist())
    assert set(MIRROR_PERMUTATION[REGIONS[right]].tolist()) == set(REGIONS[left].tolist())


def test_eye_contours_map_point_by_point_and_known_pairs():
    assert np.array_equal(MIRROR_PERMUTATION[REGIONS["left_eye"]], REGIONS["right_eye"])
    perm = MIRROR_PERMUTATION
    for a, b in [(33, 263), (133, 362), (61, 291), (234, 454), (468, 473)]:
        assert perm[a] == b and perm[b] == a
    for midline in (1, 4, 10, 152, 13, 14):  # nose tip, forehead, chin, lip centres
        assert perm[midline] == midline


def test_flip_twice_is_identity_and_mirrors_x():
    rng = np.random.default_rng(0)
    lm = rng.uniform(0, 256, size=(478, 3)).astype(np.float32)
    once = flip_landmarks(lm, 256)
    assert np.allclose(once[33, 0], 256 - lm[263, 0]) and once[33, 1] == lm[263, 1]
    assert np.allclose(flip_landmarks(once, 256), lm, atol=1e-4)
    image = rng.integers(0, 255, size=(8, 8, 3), dtype=np.uint8)
    assert np.array_equal(flip_image(flip_image(image)), image)
    assert flip_image(image).flags.c_contiguous


def test_flip_matches_the_tracker_on_a_mirrored_photo(media_dir: Path):
    """Tracking a mirrored still gives (nearly) the flipped landmarks of the original; without
    the permutation the eyes would be swapped (error ~ half the inter-ocular distance)."""
    from reenact.landmarks.tracker import FaceTracker

    errors, unpermuted = [], []
    with FaceTracker(static=True) as tracker:
        for name in ("expressions/03_happy.png", "portraits/lp_s42.jpg"):
            image = read_still(media_dir / name)
            width = image.shape[1]
            original = tracker.track_one(image)
            mirrored = tracker.track_one(flip_image(image))
            assert original is not None and mirrored is not None
            iod = np.linalg.norm(original[33, :2] - original[263, :2])
            flipped = flip_landmarks(original, width)
            errors.append(np.linalg.norm(flipped[:, :2] - mirrored[:, :2], axis=1).mean() / iod)
            plain = original.copy()
            plain[:, 0] = width - plain[:, 0]
            unpermuted.append(np.linalg.norm(plain[:, :2] - mirrored[:, :2], axis=1).mean() / iod)
    assert max(errors) < 0.05
    assert min(unpermuted) > 0.3
