"""TrainingFreeFusion on real tracked faces: identity, intensity, per-region scaling, errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.config.schema import TrackerConfig
from reenact.errors import InputError
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.regions import REGIONS
from reenact.landmarks.tracker import detect_target_face
from reenact.fusion.transfer import TrainingFreeFusion, region_sizes
from tests.helpers import eye_open_ratio

SIZE = 256
MOUTH = np.unique(np.r_[REGIONS["lips_outer"], REGIONS["lips_inner"]])
RIGHT_EYE = REGIONS["right_eye"]  # ring: corners at 0 and 8, upper lid 1..7, lower 15..9


def _aligned(path: Path) -> np.ndarray:
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    landmarks = detect_target_face(image, TrackerConfig(), source_name=str(path))
    return compute_alignment(landmarks, SIZE).landmarks_to_crop(landmarks)


@pytest.fixture(scope="module")
def actor_neutral(portraits_dir: Path) -> np.ndarray:
    """A real face's aligned landmarks (478,3), used as the actor's neutral."""
    return _aligned(portraits_dir / "lp_s11.jpg")


@pytest.fixture(scope="module")
def target_neutral(portraits_dir: Path) -> np.ndarray:
    """Another real face's aligned landmarks (478,3): the target's neutral."""
    return _aligned(portraits_dir / "lp_s12.jpg")


def _smile(neutral: np.ndarray, amount: float = 6.0) -> np.ndarray:
    """The actor's expression: mouth points pushed outwards from the mouth centre (pixels)."""
    out = neutral.copy()
    centre = neutral[MOUTH, :2].mean(axis=0)
    offset = neutral[MOUTH, :2] - centre
    out[MOUTH, 0] += amount * offset[:, 0] / np.abs(offset[:, 0]).max()
    return out


def test_same_face_returns_the_source(actor_neutral):
    source = _smile(actor_neutral)
    fused = TrainingFreeFusion().fuse(source, actor_neutral, actor_neutral, 1.0)
    assert fused.shape == (478, 3) and fused.dtype == np.float32
    np.testing.assert_allclose(fused, source, atol=1e-3)


def test_intensity_zero_is_the_target_neutral_and_scales_linearly(actor_neutral, target_neutral):
    fusion = TrainingFreeFusion()
    source = _smile(actor_neutral)
    at_0 = fusion.fuse(source, actor_neutral, target_neutral, 0.0)
    at_1 = fusion.fuse(source, actor_neutral, target_neutral, 1.0)
    at_15 = fusion.fuse(source, actor_neutral, target_neutral, 1.5)
    np.testing.assert_allclose(at_0, target_neutral, atol=1e-4)
    dev_1 = at_1 - target_neutral
    assert np.abs(dev_1[MOUTH, 0]).max() > 3.0  # the smile arrived
    np.testing.assert_allclose(at_15 - target_neutral, 1.5 * dev_1, atol=1e-3)


def test_intensity_out_of_range_is_clamped(actor_neutral, target_neutral):
    fusion = TrainingFreeFusion()
    source = _smile(actor_neutral)
    args = (source, actor_neutral, target_neutral)
    np.testing.assert_allclose(fusion.fuse(*args, 3.0), fusion.fuse(*args, 1.5), atol=1e-5)
    np.testing.assert_allclose(fusion.fuse(*args, -1.0), target_neutral, atol=1e-5)


def _scale_mouth(neutral: np.ndarray, factor: float) -> np.ndarray:
    out = neutral.copy()
    centre = neutral[MOUTH, :2].mean(axis=0)
    out[MOUTH, :2] = centre + factor * (neutral[MOUTH, :2] - centre)
    return out


def test_twice_as_wide_a_mouth_gets_twice_the_mouth_deviation(actor_neutral):
    wide_target = _scale_mouth(actor_neutral, 2.0)
    assert region_sizes(wide_target)["mouth"][0] == pytest.approx(
        2 * region_sizes(actor_neutral)["mouth"][0], rel=1e-3
    )
    source = _smile(actor_neutral)
    fused = TrainingFreeFusion().fuse(source, actor_neutral, wide_target, 1.0)
    performed = (source - actor_neutral)[MOUTH, 0]
    transferred = (fused - wide_target)[MOUTH, 0]
    moving = np.abs(performed) > 1.0
    ratio = transferred[moving] / performed[moving]
    assert np.median(ratio) == pytest.approx(2.0, rel=0.05)
    # the brows, far from the mouth, keep their scale (same face elsewhere): ~1
    scales = TrainingFreeFusion().point_scales(actor_neutral, wide_target)
    np.testing.assert_allclose(scales[REGIONS["left_brow"]], 1.0, atol=1e-6)


def test_region_borders_are_blended_smoothly(actor_neutral):
    scales = TrainingFreeFusion().point_scales(actor_neutral, _scale_mouth(actor_neutral, 2.0))
    # every point lies between the smallest and largest region scale (harmonic interpolation) ...
    assert scales.min() >= 1.0 - 1e-6 and scales.max() <= 2.0 + 1e-6
    # ... and points just outside the lips (chin, cheeks near the corners) are in between
    between = (scales[:, 0] > 1.05) & (scales[:, 0] < 1.95)
    assert between.sum() >= 10


def test_a_blink_closes_a_target_eye_of_another_height(actor_neutral):
    # target: the same face with the right eye half as open (lids moved towards their middle)
    target = actor_neutral.copy()
    upper, lower = RIGHT_EYE[1:8], RIGHT_EYE[15:8:-1]
    middle = 0.5 * (target[upper, 1] + target[lower, 1])
    target[upper, 1] = middle - 0.25 * (actor_neutral[lower, 1] - actor_neutral[upper, 1])
    target[lower, 1] = middle + 0.25 * (actor_neutral[lower, 1] - actor_neutral[upper, 1])
    blink = actor_neutral.copy()
    blink[upper, 1] = blink[lower, 1]  # the actor shuts the eye completely
    fused = TrainingFreeFusion().fuse(blink, actor_neutral, target, 1.0)
    gap = fused[lower, 1] - fused[upper, 1]
    assert np.abs(gap).max() < 0.05 * (target[lower, 1] - target[upper, 1]).mean() + 1e-3
    assert eye_open_ratio(fused)[1] < 0.02 < eye_open_ratio(target)[1]


def test_bad_input_raises_input_error(actor_neutral, target_neutral):
    fusion = TrainingFreeFusion()
    with pytest.raises(InputError, match="source landmarks"):
        fusion.fuse(actor_neutral[:468], actor_neutral, target_neutral)
    broken = actor_neutral.copy()
    broken[10, 0] = np.nan
    with pytest.raises(InputError, match="target neutral"):
        fusion.fuse(actor_neutral, actor_neutral, broken)
    with pytest.raises(InputError, match="intensity"):
        fusion.fuse(actor_neutral, actor_neutral, target_neutral, float("nan"))
