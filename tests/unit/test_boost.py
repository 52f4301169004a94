"""The drawn expression boost on a real face's landmarks: what it scales, what it leaves, its
limits and its range check at config load."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.config import load_config
from reenact.errors import ConfigError
from reenact.landmarks.expressiveness import features
from reenact.landmarks.regions import REGIONS
from reenact.render.boost import EXTRA_LIMIT, ExpressionBoost
from tests.helpers import aligned_actor

_UPPER = [10, 151, 9, 8, 168, 6]  # forehead and nose bridge: never moved
_BROWS = np.concatenate([REGIONS["left_brow"], REGIONS["right_brow"]])  # what the boost moves


@pytest.fixture(scope="module")
def neutral(clips_dir):
    """lp_d2's neutral, aligned crop pixels (478, 3)."""
    return aligned_actor(clips_dir / "lp_d2.mp4", frames=4, step=1, size=256, neutral_frames=4)[
        1
    ].astype(np.float64)


def _smile(neutral, widen=0.10, raise_px=3.0):
    """The neutral with its mouth `widen` wider (the lips stretched about the mouth's centre)
    and both brows `raise_px` higher."""
    from reenact.landmarks.expressiveness import GAIN_REGIONS

    j = neutral.copy()
    mouth = GAIN_REGIONS["mouth"]
    centre = j[[61, 291], 0].mean()
    j[mouth, 0] = centre + (1 + widen) * (j[mouth, 0] - centre)
    j[GAIN_REGIONS["brows"], 1] -= raise_px
    return j


def _width(lm):
    return lm[291, 0] - lm[61, 0]


def test_a_boost_of_one_and_a_neutral_face_change_nothing(neutral):
    smile = _smile(neutral)
    assert ExpressionBoost().apply(smile, neutral) is smile
    np.testing.assert_allclose(
        ExpressionBoost(mouth_width=1.3, brows=1.4, lift=1.5).apply(neutral, neutral),
        neutral,
        atol=1e-3,
    )


def test_the_widening_and_the_raise_grow_by_the_boost(neutral):
    smile = _smile(neutral, widen=0.08, raise_px=2.5)
    drawn = ExpressionBoost(mouth_width=1.25, brows=1.4).apply(smile, neutral)
    wide = (_width(drawn) - _width(neutral)) / (_width(smile) - _width(neutral))
    assert wide == pytest.approx(1.25, abs=0.01)
    f_n, f_s, f_d = features(neutral), features(smile), features(drawn)
    for brow in (4, 5):  # brow_left, brow_right
        assert (f_d[brow] - f_n[brow]) / (f_s[brow] - f_n[brow]) == pytest.approx(1.4, abs=0.02)
    assert f_d[0] == pytest.approx(f_s[0], abs=1e-3)  # the opening is not touched
    np.testing.assert_allclose(drawn[_UPPER], smile[_UPPER], atol=1e-4)
    # the cheeks beside the corners follow part of the way: the skin does not tear
    cheek = 216  # beside the right mouth corner
    moved, corner = drawn[cheek, 0] - smile[cheek, 0], drawn[61, 0] - smile[61, 0]
    assert 0.05 < moved / corner < 0.95


def _lifted(neutral, px):
    """The neutral with each mouth corner, and the skin within a quarter mouth width of it,
    `px` higher (a smile's lift; negative: a frown)."""
    j = neutral.copy()
    width = _width(neutral)
    for corner in (61, 291):
        near = np.linalg.norm(neutral[:, :2] - neutral[corner, :2], axis=1) < 0.25 * width
        j[near, 1] -= px
    return j


def test_the_corners_rise_grows_by_the_lift(neutral):
    from reenact_lab.metrics.expression import smile_lift

    for px in (2.0, -1.5):  # a smile's lift, a frown's drop
        lifted = _lifted(neutral, px)
        drawn = ExpressionBoost(lift=1.3).apply(lifted, neutral)
        ratio = smile_lift(drawn[None], neutral)[0] / smile_lift(lifted[None], neutral)[0]
        assert ratio == pytest.approx(1.3, abs=0.01), px
        # the lips' middle, the opening, the nose and the brows stay where J puts them
        for point in (0, 13, 14, 17, 2, *_UPPER):
            np.testing.assert_allclose(drawn[point], lifted[point], atol=1e-3)
        # the skin beside a corner follows part of the way
        moved, corner = drawn[216, 1] - lifted[216, 1], drawn[61, 1] - lifted[61, 1]
        assert 0.05 < moved / corner < 0.95
    glitch = _lifted(neutral, 60.0)
    drawn = ExpressionBoost(lift=2.0).apply(glitch, neutral)
    assert np.abs(drawn[:, 1] - glitch[:, 1]).max() <= EXTRA_LIMIT * _width(neutral) + 1e-3


def test_a_pursed_mouth_is_narrowed_further(neutral):
    pursed = _smile(neutral, widen=-0.08, raise_px=0.0)
    drawn = ExpressionBoost(mouth_width=1.2).apply(pursed, neutral)
    assert _width(drawn) < _width(pursed) < _width(neutral)


def test_a_glitch_is_not_magnified_past_the_limit(neutral):
    torn = _smile(neutral, widen=2.0, raise_px=80.0)  # a tracking glitch
    drawn = ExpressionBoost(mouth_width=2.0, brows=2.0).apply(torn, neutral)
    extra = (_width(drawn) - _width(torn)) / _width(torn)
    assert extra == pytest.approx(EXTRA_LIMIT, abs=0.01)
    eye = np.linalg.norm(neutral[33, :2] - neutral[133, :2])
    assert np.abs(drawn[:, 1] - torn[:, 1]).max() <= EXTRA_LIMIT * eye + 1e-3


def test_the_boost_is_range_checked_at_load():
    assert load_config(None, []).renderer.boost.mouth_width > 1.0  # shipped on
    with pytest.raises(ConfigError, match=r"renderer\.boost\.brows"):
        load_config(None, ["renderer.boost.brows=2.5"])
    with pytest.raises(ConfigError, match=r"renderer\.boost\.mouth_width"):
        load_config(None, ["renderer.boost.mouth_width=0.5"])
    with pytest.raises(ConfigError, match=r"renderer\.boost\.lift"):
        load_config(None, ["renderer.boost.lift=3"])


def test_a_renderer_that_draws_no_shading_draws_more_of_the_brows(neutral):
    """The warp declares it draws no shading (`draws_shading = False`), so it draws WARP_BROWS
    times the brows' extra (1.4 at the shipped 1.25); a renderer that shades, or declares
    nothing, draws the boost as asked; `renderer.boost.brows=1` still draws the brows as fused,
    for every renderer. The boost reads the capability, never a renderer's name."""
    from reenact.render.boost import WARP_BROWS
    from reenact.render.generator_cuda import DeviceFrameRenderer
    from reenact.render.warp import WarpRenderer

    class Undeclared:
        name = "warp"  # a name alone changes nothing

    assert WarpRenderer.draws_shading is False and DeviceFrameRenderer.draws_shading is True
    warp = WarpRenderer(size=256)
    config = load_config(None, [])
    raised = np.array(neutral, np.float32)
    raised[_BROWS, 1] -= 6.0
    drawn = {
        kind: ExpressionBoost.from_config(config, renderer).apply(raised, neutral)
        for kind, renderer in (("warp", warp), ("generator", Undeclared()))
    }
    extra = {kind: float((raised[_BROWS, 1] - d[_BROWS, 1]).mean()) for kind, d in drawn.items()}
    assert extra["generator"] == pytest.approx(6.0 * (config.renderer.boost.brows - 1), rel=0.02)
    assert extra["warp"] == pytest.approx(WARP_BROWS * extra["generator"], rel=0.02)
    assert ExpressionBoost.from_config(config, warp).brows == pytest.approx(1.4)
    assert ExpressionBoost.from_config(config).brows == config.renderer.boost.brows
    plain = load_config(None, ["renderer.boost.brows=1"])
    assert ExpressionBoost.from_config(plain, warp).brows == 1.0
    top = load_config(None, ["renderer.boost.brows=2"])
    assert ExpressionBoost.from_config(top, warp).brows == 2.0  # never past the range
    with pytest.raises(TypeError, match="not its name"):
        ExpressionBoost.from_config(config, "warp")
