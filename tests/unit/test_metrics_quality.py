"""HaarPSI against the authors' reference values, sharpness on a real blurred crop, and the
series rules (r / gain) that the carried measures rest on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact_lab.metrics.haarpsi import haarpsi
from reenact_lab.metrics.series import gain, gain_iv, gain_sides, pearson_r
from reenact_lab.metrics.sharpness import eye_boxes, hf_energy, mouth_box, sharpness_ratio


@pytest.fixture(scope="module")
def portrait(portraits_dir: Path) -> np.ndarray:
    """A real portrait, area-resized to 192 x 160 (the size the reference values were made at)."""
    image = cv2.cvtColor(cv2.imread(str(portraits_dir / "lp_drv_d19.jpg")), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(cv2.resize(image, (192, 160), interpolation=cv2.INTER_AREA))


# Values of the authors' reference code (rgcda/haarpsi, haarPsi.py, numpy, subsampling on) for
# the distortions below of the portrait above.
REFERENCE = {"blur": 0.862831515342006, "noise": 0.8324476318960475, "dark": 0.984334853458939}


def _distorted(image: np.ndarray) -> dict[str, np.ndarray]:
    noise = np.random.default_rng(0).normal(0, 12, image.shape)
    return {
        "blur": cv2.GaussianBlur(image, (0, 0), 2),
        "noise": np.clip(image + noise, 0, 255).astype(np.uint8),
        "dark": np.clip(image * 0.85, 0, 255).astype(np.uint8),
    }


def test_haarpsi_matches_the_reference_implementation(portrait):
    for name, distorted in _distorted(portrait).items():
        assert haarpsi(portrait, distorted) == pytest.approx(REFERENCE[name], abs=2e-4), name


def test_haarpsi_is_one_for_identical_and_falls_with_damage(portrait):
    assert haarpsi(portrait, portrait) == pytest.approx(1.0, abs=1e-9)
    mild = cv2.GaussianBlur(portrait, (0, 0), 0.8)
    strong = cv2.GaussianBlur(portrait, (0, 0), 3.0)
    assert 1.0 > haarpsi(portrait, mild) > haarpsi(portrait, strong)
    gray = cv2.cvtColor(portrait, cv2.COLOR_RGB2GRAY)
    assert haarpsi(gray, cv2.GaussianBlur(gray, (0, 0), 2)) < 0.95
    with pytest.raises(ValueError):
        haarpsi(portrait, gray)


def test_sharpness_ratio_catches_a_sigma_2_blur(portrait):
    assert sharpness_ratio(portrait, portrait) == pytest.approx(1.0)
    blurred = cv2.GaussianBlur(portrait, (0, 0), 2)
    assert sharpness_ratio(blurred, portrait) < 0.6
    noisy = _distorted(portrait)["noise"]
    assert sharpness_ratio(noisy, portrait) > 1.0  # harsher, not softer
    mask = np.zeros(portrait.shape[:2], bool)
    assert hf_energy(portrait, mask) == 0.0


def test_boxes_stay_inside_the_crop():
    points = np.zeros((478, 3))
    points[:, :2] = [128, 128]
    points[61, :2], points[291, :2] = (100, 180), (156, 180)
    for box in [mouth_box(points, 256), *eye_boxes(points, 256)]:
        x0, y0, x1, y1 = box
        assert 0 <= x0 < x1 <= 256 and 0 <= y0 < y1 <= 256 and x1 - x0 >= 16 and y1 - y0 >= 16


def test_series_rules():
    t = np.linspace(0, 6, 50)
    actor = np.sin(t)
    assert pearson_r(actor, 2 * actor + 1, min_actor_std=0.01) == pytest.approx(1.0)
    assert gain(actor, 0.5 * actor, min_actor_std=0.01) == pytest.approx(0.5)
    assert pearson_r(actor, np.full(50, 3.0), min_actor_std=0.01) == 0.0  # output frozen
    assert gain(actor, np.full(50, 3.0), min_actor_std=0.01) == 0.0
    assert np.isnan(pearson_r(np.full(50, 1.0), actor, min_actor_std=0.01))  # actor still
    output = 2 * actor
    output[:48] = np.nan  # two frames left: too few
    assert np.isnan(gain(actor, output, min_actor_std=0.01))


def test_iv_gain_rules():
    """gain_iv: the slope on the actor's true series, free of the actor reading's noise where
    plain gain is diluted by it; the same edge rules as gain."""
    rng = np.random.default_rng(1)
    truth = np.sin(np.linspace(0, 12, 400))
    actor = truth + rng.normal(0, 0.7, 400)  # a noisy reading: reliability about 0.5
    reread = truth + rng.normal(0, 0.7, 400)  # a second reading, its own noise
    output = 0.8 * truth
    assert gain(actor, output, min_actor_std=0.01) < 0.5  # diluted
    assert gain_iv(actor, reread, output, min_actor_std=0.01) == pytest.approx(0.8, abs=0.1)
    # an output that copies the actor reading's noise is credited by gain, not by gain_iv
    copied_noise = actor - truth
    assert gain(actor, copied_noise, min_actor_std=0.01) > 0.4
    assert abs(gain_iv(actor, reread, copied_noise, min_actor_std=0.01)) < 0.15
    assert gain_iv(actor, reread, np.full(400, 2.0), min_actor_std=0.01) == 0.0  # frozen
    assert np.isnan(gain_iv(np.full(400, 1.0), reread, output, min_actor_std=0.01))  # still
    assert np.isnan(gain_iv(actor, -reread, output, min_actor_std=0.01))  # no instrument
    gappy = reread.copy()
    gappy[3:] = np.nan  # three frames have all three: enough; two would not be
    assert np.isfinite(gain_iv(actor, gappy, output, min_actor_std=0.01))
    gappy[2] = np.nan
    assert np.isnan(gain_iv(actor, gappy, output, min_actor_std=0.01))
    with pytest.raises(ValueError, match="lengths differ"):
        gain_iv(actor, reread[:10], output, min_actor_std=0.01)


def test_side_gains_tell_the_two_directions_apart():
    """gain_sides: a drawing that closes whole but widens at a third reads 1 below the neutral
    and 1/3 above it, where one slope reads about 0.66 either way; an output that cannot go
    below its rest (a mouth that cannot be drawn closed) reads 0 below and whole above; an
    output read off its rest throughout (a re-tracker's offset) tilts neither side."""
    rng = np.random.default_rng(2)
    actor = rng.uniform(-0.3, 0.3, 200)
    half_wide = np.where(actor < 0, actor, actor / 3)
    assert 0.6 < gain(actor, half_wide, min_actor_std=0.02) < 0.72
    assert gain_sides(actor, half_wide, min_actor_std=0.02) == pytest.approx((1.0, 1 / 3))
    stuck = np.maximum(actor, 0.0)
    assert gain_sides(actor, stuck, min_actor_std=0.02) == pytest.approx((0.0, 1.0), abs=1e-9)
    assert gain_sides(actor, half_wide + 0.05, min_actor_std=0.02) == pytest.approx((1.0, 1 / 3))
    # an output that follows nothing but reads off its rest, with noise: about 0 both ways
    still = 0.04 + rng.normal(0, 0.01, 200)
    assert np.allclose(gain_sides(actor, still, min_actor_std=0.02), 0.0, atol=0.05)
    # the rules: a frozen output 0, a side the actor hardly went NaN, NaN frames left out
    assert gain_sides(actor, np.full(200, 0.4), min_actor_std=0.02) == (0.0, 0.0)
    below, above = gain_sides(np.abs(actor), np.abs(actor), min_actor_std=0.02)
    assert np.isnan(below) and above == pytest.approx(1.0)
    assert np.isnan(gain_sides(actor * 0.05, actor, min_actor_std=0.02)).all()
    gappy = half_wide.copy()
    gappy[actor > 0] = np.nan
    below, above = gain_sides(actor, gappy, min_actor_std=0.02)
    assert below == pytest.approx(1.0) and np.isnan(above)
    assert np.isnan(gain_sides(actor[:2], actor[:2], min_actor_std=0.02)).all()
