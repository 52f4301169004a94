"""One rest estimator (`reenact.fusion.rest.RestFeature`) behind the resting brows and the closed
mouth: it gives what the two hand-written copies gave on a real replay (lp_d3's first 120
frames, the neutral swapped at frame 50 and the window restarted at 80), to 1e-6.

The readings and the old classes' offsets were recorded before the port (`rest_replay/`), so the
test does not depend on the tracker's build."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reenact.fusion.brows import BrowRest
from reenact.fusion.mouth_rest import MouthRest
from reenact.fusion.rest import RestFeature, garrote

OLD = np.load(Path(__file__).parent / "rest_replay" / "lp_d3_old_rests.npz")


def _replay(rest: RestFeature, readings: np.ndarray, neutrals: np.ndarray) -> np.ndarray:
    out = []
    for i, (reading, neutral) in enumerate(zip(readings, neutrals)):
        if i == int(OLD["forget_at"]):
            rest.forget()
        rest.observe(np.atleast_1d(reading), lambda n=neutral: np.atleast_1d(n))
        out.append(rest.offset)
    return np.asarray(out)


def test_the_brows_rest_is_the_old_one():
    offsets = _replay(BrowRest(adapt_frames=100).rest, OLD["brow_reading"], OLD["brow_neutral"])
    assert np.abs(OLD["brow_offset"]).max() > 0.01  # the replay moves the rest
    np.testing.assert_allclose(offsets, OLD["brow_offset"], rtol=0, atol=1e-6)


def test_the_closed_mouth_is_the_old_one():
    rest = MouthRest(adapt_frames=100).rest
    offsets = _replay(rest, OLD["mouth_reading"], OLD["mouth_neutral"])[:, 0]
    assert np.abs(OLD["mouth_offset"]).max() > 0.01
    np.testing.assert_allclose(offsets, OLD["mouth_offset"], rtol=0, atol=1e-6)


def test_off_and_held_windows_read_nothing():
    rest = RestFeature(
        adapt_frames=0,
        columns=1,
        min_seen=1,
        rest_of=np.median,
        offset_of=lambda r, n: r - n,
        keep_within=0.0,
    )
    assert not rest.learning
    assert rest.observe(np.array([5.0]), lambda: np.array([1.0])).tolist() == [0.0]
    rest.adapt_frames = 2
    rest.forget()
    for _ in range(4):  # two frames taken, then held
        rest.observe(np.array([5.0]), lambda: np.array([1.0]))
    assert not rest.learning and 0 < rest.offset[0] < 4.0
    assert garrote(np.array([0.01, -1.0]), 0.05).tolist() == [0.0, -1.0 * (1 - 0.05**2)]
