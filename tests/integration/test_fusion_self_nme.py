"""`reenact_lab.train.fusion_validate.self_nme` on a real tracked clip: a fuser that reproduces the
actor's frame scores 0, one that leaves the target unchanged scores worse than the training-free
transfer (the measure tells a fuser that carries the expression from one that does not)."""

from __future__ import annotations

import numpy as np

from reenact.fusion.transfer import TrainingFreeFusion
from reenact_lab.train.fusion_validate import self_nme
from tests.helpers import aligned_actor


def test_self_nme_ranks_fusers(clips_dir, tmp_path):
    frames, _ = aligned_actor(
        clips_dir / "lp_d13.mp4", frames=40, step=1, size=256, neutral_frames=10
    )
    np.savez(tmp_path / "lp_d13.npz", landmarks=np.stack(frames).astype(np.float32))
    free = TrainingFreeFusion()

    def frozen(source, source_neutral, target, intensity):
        return target

    def exact(source, source_neutral, target, intensity):
        return source

    scores = {
        name: self_nme(f, str(tmp_path), ["lp_d13"], frames=40)
        for name, f in (("exact", exact), ("free", free.fuse), ("frozen", frozen))
    }
    assert scores["exact"] == 0.0
    assert scores["free"] < scores["frozen"]


def test_the_lift_columns_rank_fusers(clips_dir):
    """`expression_carried`'s smile lift columns on real tracked faces: lp_d13 (who smiles in
    its first 60 frames) drives another person's neutral. The training-free transfer carries the
    corners' rise; a fuser that carries every point but the mouth corners' rise scores near 0,
    while the six features' gain barely moves (the columns see what the features miss)."""
    from reenact.landmarks.expressiveness import MOUTH_CORNERS, NOSE_BASE
    from reenact_lab.train.fusion_data import _person
    from reenact_lab.train.fusion_validate import expression_carried, training_free

    frames, neutral = aligned_actor(
        clips_dir / "lp_d13.mp4", frames=60, step=1, size=256, neutral_frames=10
    )
    _, other = aligned_actor(clips_dir / "lp_d2.mp4", frames=4, step=1, size=256, neutral_frames=4)
    # lp_d2 is the target only: a single frame moves no feature, so it drives nothing
    people = [_person("lp_d13", np.stack(frames), neutral), _person("lp_d2", other[None], other)]
    transfer = training_free()

    def pinned(source, source_neutral, target):
        out = transfer(source, source_neutral, target)
        for i, t in enumerate(target):  # each corner kept at its neutral height above the nose
            for c in MOUTH_CORNERS:
                out[i, c, 1] = out[i, NOSE_BASE, 1] + (t[c, 1] - t[NOSE_BASE, 1])
        return out

    free, flat = expression_carried(transfer, people), expression_carried(pinned, people)
    assert free["lift_gain"] > 0.8 and free["lift_r"] > 0.9, free
    assert abs(flat["lift_gain"]) < 0.15, flat
    assert abs(flat["gain"] - free["gain"]) < 0.1 * free["gain"], (flat, free)
