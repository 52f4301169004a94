"""The values read off a neutral once (`reenact.fusion.memo`): kept while the neutral holds the
same values, computed again when it changes, and a stream that swaps its target, recalibrates and
changes its live settings mid-way gives the same bits with every memo kept as with every one
computed afresh each frame (real clip, real tracker, real portraits, the shipped fuser)."""

from __future__ import annotations


import numpy as np
import pytest

from reenact.config import load_config
from reenact.fusion import build_fuser, memo
from reenact.fusion.memo import NeutralMemo
from reenact.pipeline.target import prepare_target

from tests.helpers import reenactor, tracked_clip

FRAMES = 44
SETTINGS = [
    "renderer.kind=warp",
    "calibration.neutral_frames=4",
    "calibration.neutral_window=8",
    "head.motion=full",
]


def test_a_memo_computes_again_only_when_the_values_change():
    calls = []
    kept = NeutralMemo(lambda a, b: calls.append(1) or float(a.sum() + b.sum()))
    a, b = np.ones((478, 3), np.float32), np.zeros((478, 3), np.float32)
    assert kept(a, b) == kept(a, b) == kept(a.copy(), b) == 1434.0
    assert len(calls) == 1  # the same values, in the same or another array
    a[7, 1] = 2.0  # changed in place
    assert kept(a, b) == 1435.0 and len(calls) == 2
    assert kept(a, b.astype(np.float64)) == 1435.0 and len(calls) == 3  # another dtype
    assert kept(a, b[:, :2]) == 1435.0 and len(calls) == 4  # another shape
    with memo.recomputed():
        kept(a, b[:, :2])
        kept(a, b[:, :2])
    assert len(calls) == 6
    kept.clear()
    kept(a, b[:, :2])
    assert len(calls) == 7


@pytest.fixture(scope="module")
def actor(clips_dir):
    """The first FRAMES frames of a real clip and their tracking (tracked once, shared)."""
    return tracked_clip(clips_dir / "lp_d13.mp4", load_config(None, SETTINGS), FRAMES)


def _walk(settings, images, tracked, portraits):
    """Each frame's (output, J_gen) or None: a stream whose neutrals change under every memo
    (another target, a new calibration, the target's picture for its estimated neutral) and
    whose live settings change (smoothing off and on, the head mode, the intensity)."""
    config = load_config(None, settings)
    first, second = (prepare_target(str(p), config) for p in portraits)
    r = reenactor(config, first)
    out = []
    for i, (image, seen) in enumerate(zip(images, tracked)):
        if i == 12:
            r.set_target(second)
        elif i == 16:
            r.toggle_smoothing()  # unsmoothed: the head's two fits are one
        elif i == 20:
            r.recalibrate()
        elif i == 30:
            r.set_target_neutral("picture")
            r.toggle_smoothing()
        elif i == 34:
            r.motion.set_mode("rotate")
            r.change_intensity(-0.3)
        elif i == 38:
            r.set_target(first)
        result = r.process(image, i / 25.0, seen)
        out.append(None if result.fused is None else (result.output.copy(), result.fused.copy()))
    r.close()
    return out


@pytest.mark.parametrize("fuser", ["network", "training_free"])
def test_a_stream_with_kept_values_is_the_stream_computed_afresh(actor, portraits_dir, fuser):
    images, tracked = actor
    settings = [*SETTINGS, f"fusion.kind={fuser}"]
    if fuser == "network" and build_fuser(load_config(None, settings)).name != "network":
        pytest.skip("no shipped fusion weights")
    portraits = [portraits_dir / "lp_s11.jpg", portraits_dir / "lp_s1.jpg"]
    kept = _walk(settings, images, tracked, portraits)
    with memo.recomputed():
        fresh = _walk(settings, images, tracked, portraits)
    rendered = [i for i, x in enumerate(kept) if x is not None]
    # calibrated twice, and rendered before and after each change
    assert {10, 14, 18, 28, 32, 36, 40} <= set(rendered)
    for i, (a, b) in enumerate(zip(kept, fresh)):
        assert (a is None) == (b is None), i
        if a is not None:
            assert np.array_equal(a[1], b[1]), f"frame {i}: J_gen"
            assert np.array_equal(a[0], b[0]), f"frame {i}: output"
