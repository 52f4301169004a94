"""`reenact.tools.render_carry` on real Yale stills: a renderer that does not move carries none
of the expression, the warp carries most of it (the measure can tell them apart)."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.config import load_config
from reenact.eval.renderers import IdentityRenderer
from reenact.landmarks.tracker import FaceTracker
from reenact.render.warp import WarpRenderer
from reenact.tools.render_carry import _pairs, carry


@pytest.fixture(scope="module")
def setup(media_dir):
    config = load_config(None)
    pairs = _pairs(media_dir / "expressions", ["01", "02"], config)
    with FaceTracker(config.tracker, static=True) as tracker:
        yield config, pairs, tracker


def _mouth(row: dict) -> float:
    return float(np.nanmean([row["mouth_open"], row["mouth_width"]]))


def test_an_unchanged_target_carries_no_expression(setup):
    config, pairs, tracker = setup
    row = carry(IdentityRenderer(size=config.renderer.size), tracker, pairs)
    assert row["frames"] >= 8
    assert abs(_mouth(row)) < 0.15


def test_the_warp_carries_most_of_a_true_expression(setup):
    config, pairs, tracker = setup
    row = carry(WarpRenderer(size=config.renderer.size), tracker, pairs)
    assert _mouth(row) > 0.6


def test_the_boost_draws_more_of_the_smile_and_brows(setup):
    """`--prepared` and the stills draw through the config's boost: a warp drawn through it
    carries more of the posed smiles' widening than the plain warp."""
    from reenact.render.boost import ExpressionBoost

    config, pairs, tracker = setup
    plain = carry(WarpRenderer(size=config.renderer.size), tracker, pairs)
    boosted = carry(WarpRenderer(size=config.renderer.size), tracker, pairs,
                    boost=ExpressionBoost(mouth_width=1.3, brows=1.4))
    assert boosted["mouth_width"] > plain["mouth_width"] + 0.05
    assert boosted["mouth_open"] == pytest.approx(plain["mouth_open"], abs=0.05)
