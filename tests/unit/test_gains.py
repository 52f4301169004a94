"""Per-region gains: what each does to a real fused face, their range check at config load and
live, and that the control actions reach them without a restart."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.config import load_config
from reenact.errors import ConfigError
from reenact.landmarks.expressiveness import GAIN_REGIONS
from reenact.fusion.gains import RegionGains
from reenact.fusion.transfer import TrainingFreeFusion
from reenact.stream.controls import HOTKEYS, Controls
from tests.helpers import aligned_actor
from tests.unit.test_controls import make_reenactor, target  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def fused_and_neutral(clips_dir):
    """lp_d1's most expressive frame fused onto lp_d2's neutral: (J_gen, L_t), crop pixels."""
    frames, neutral = aligned_actor(
        clips_dir / "lp_d1.mp4", frames=16, step=1, size=256, neutral_frames=4
    )
    _, other = aligned_actor(clips_dir / "lp_d2.mp4", frames=4, step=1, size=256, neutral_frames=4)
    source = max(frames, key=lambda f: np.abs(f - neutral).mean())
    return TrainingFreeFusion().fuse(source, neutral, other, 1.0), other


def _deviation(lm, neutral, region):
    return np.abs(lm[GAIN_REGIONS[region], :2] - neutral[GAIN_REGIONS[region], :2]).mean()


def test_gains_of_one_change_nothing(fused_and_neutral):
    fused, neutral = fused_and_neutral
    np.testing.assert_array_equal(RegionGains().apply(fused, neutral), fused)


def test_a_region_gain_scales_that_region_and_leaves_the_others(fused_and_neutral):
    fused, neutral = fused_and_neutral
    assert _deviation(fused, neutral, "mouth") > 0.3, "the actor frame should move the mouth"
    damped = RegionGains({"mouth": 0.0}).apply(fused, neutral)
    np.testing.assert_allclose(
        damped[GAIN_REGIONS["mouth"]], neutral[GAIN_REGIONS["mouth"]], atol=1e-4
    )
    np.testing.assert_allclose(damped[GAIN_REGIONS["eyes"]], fused[GAIN_REGIONS["eyes"]], atol=1e-4)
    doubled = RegionGains({"brows": 2.0}).apply(fused, neutral)
    assert _deviation(doubled, neutral, "brows") == pytest.approx(
        2 * _deviation(fused, neutral, "brows"), rel=1e-4
    )


@pytest.mark.parametrize("text", ["fusion.gains.mouth=2.5", "fusion.gains.eyes=-0.1"])
def test_gains_out_of_range_are_refused_at_config_load(text):
    with pytest.raises(ConfigError, match=text.split("=")[0]):
        load_config(None, [text])


def test_gains_are_changed_live_by_control_actions(target):  # noqa: F811
    reenactor = make_reenactor(target)
    assert reenactor.gains.values == {"eyes": 1.0, "brows": 1.0, "mouth": 1.0, "jaw": 1.0}
    controls = Controls(reenactor)
    for action in ("gain_mouth_down",) * 3 + ("gain_mouth_up", "gain_brows_up"):
        controls.request(action)
        controls.apply_pending()  # one frame each: the queue coalesces repeats within a frame
    assert reenactor.gains.get("mouth") == pytest.approx(0.8)
    assert reenactor.gains.get("brows") == pytest.approx(1.1)
    assert controls.status()["gains"]["mouth"] == pytest.approx(0.8)
    for _ in range(30):
        controls.request("gain_jaw_up")
        controls.apply_pending()
    assert reenactor.gains.get("jaw") == 2.0  # clamped to the range
    controls.request("gains_reset")
    controls.apply_pending()
    assert set(reenactor.gains.values.values()) == {1.0}
    assert HOTKEYS[ord("c")] == "recalibrate"
    with pytest.raises(ValueError, match="fusion.gains.mouth"):
        reenactor.gains.set("mouth", 3.0)
