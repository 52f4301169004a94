"""`reenact.train.fusion_validate.self_nme` on a real tracked clip: a fuser that reproduces the
actor's frame scores 0, one that leaves the target unchanged scores worse than the training-free
transfer (the measure tells a fuser that carries the expression from one that does not)."""

from __future__ import annotations

import numpy as np

from reenact.fusion.transfer import TrainingFreeFusion
from reenact.train.fusion_validate import self_nme
from tests.helpers import aligned_actor


def test_self_nme_ranks_fusers(clips_dir, tmp_path):
    frames, _ = aligned_actor(clips_dir / "lp_d13.mp4", frames=40, step=1, size=256,
                              neutral_frames=10)
    np.savez(tmp_path / "lp_d13.npz", landmarks=np.stack(frames).astype(np.float32))
    free = TrainingFreeFusion()

    def frozen(source, source_neutral, target, intensity):
        return target

    def exact(source, source_neutral, target, intensity):
        return source

    scores = {name: self_nme(f, str(tmp_path), ["lp_d13"], frames=40)
              for name, f in (("exact", exact), ("free", free.fuse), ("frozen", frozen))}
    assert scores["exact"] == 0.0
    assert scores["free"] < scores["frozen"]
