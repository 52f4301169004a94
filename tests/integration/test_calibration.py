"""Calibration that survives a talking start, on a real clip that starts mid-sentence
(styletalk_andrew_clip_1: the mouth is open from the first frame)."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.landmarks.expressiveness import FEATURES, relative
from reenact.landmarks.neutral import NeutralCalibrator, least_expressive_median
from reenact.config import load_config
from reenact.pipeline.factory import build_fuser
from reenact.train.fusion_validate import carried
from tests.helpers import aligned_actor

MOUTH_OPEN = FEATURES.index("mouth_open")


@pytest.fixture(scope="module")
def talking(clips_dir):
    """150 frames of the clip (aligned, tracked in video mode), and the clip's own neutral: the
    median of its 15 least expressive frames over all 150 (5 s)."""
    frames, _ = aligned_actor(clips_dir / "styletalk_andrew_clip_1.mp4", frames=150, step=1,
                              size=256, neutral_frames=10)
    frames = np.stack(frames)
    return frames, least_expressive_median(frames, 15)


def _calibrate(frames: np.ndarray, calibrator: NeutralCalibrator) -> np.ndarray:
    for lm in frames:
        if calibrator.complete:
            break
        calibrator.add(lm)
    assert calibrator.complete
    return calibrator.neutral


def test_the_neutral_comes_from_the_pauses_not_the_first_frames(talking):
    frames, truth = talking
    first_open = relative(frames[:10], truth)[:, MOUTH_OPEN]
    assert np.median(first_open) > 0.15, "the clip should start with an open mouth"
    old = _calibrate(frames, NeutralCalibrator(frames=10))  # the first 10 frames' median
    new = _calibrate(frames, NeutralCalibrator(frames=10, window=45))
    old_offset = np.abs(relative(old, truth))
    new_offset = np.abs(relative(new, truth))
    assert old_offset[MOUTH_OPEN] > 0.15, f"first-frames median: {old_offset.round(3)}"
    assert new_offset.max() < 0.06, f"window calibration is off by {new_offset.round(3)}"


@pytest.mark.parametrize("kind", ["network", "training_free"])
def test_expression_carried_from_a_talking_start_matches_a_neutral_start(talking, clips_dir,
                                                                         kind):
    """Through Phi (the default) and the training-free transfer alike."""
    frames, truth = talking
    _, target = aligned_actor(clips_dir / "lp_d2.mp4", frames=4, step=1, size=256,
                              neutral_frames=4)
    new = _calibrate(frames, NeutralCalibrator(frames=10, window=45))
    fusion = build_fuser(load_config(None, [f"fusion.kind={kind}"]))
    driven = frames[45:]
    actor = relative(driven, truth)
    r = {}
    for name, neutral in (("neutral start", truth), ("talking start", new)):
        fused = np.stack([fusion.fuse(f, neutral, target, 1.0) for f in driven])
        _, rs = carried(actor, relative(fused, target))
        r[name] = float(np.mean(rs))
    print(f"{kind}: expression r {r}")
    assert r["neutral start"] > 0.9, r
    assert abs(r["talking start"] - r["neutral start"]) <= 0.05, r
