"""`reenact train fusion_residual` end to end on a tiny landmark cache tracked from real media:
it trains, checkpoints, resumes across commands and writes weights the live fuser loads."""

from __future__ import annotations

import numpy as np

from reenact.config import load_config
from reenact.fusion.residual import ResidualNetworkFusion
from reenact.pipeline.factory import build_fuser
from reenact_lab.train.fusion_residual import ResidualFusionTrainer
from reenact_lab.train.landmark_cache import _save_npz, track_clip, track_stills


def test_train_resume_and_load(tmp_path, clips_dir, media_dir):
    cache = tmp_path / "landmarks"
    cache.mkdir()
    for stem in ("lp_d0", "lp_d5"):
        _save_npz(
            cache / f"{stem}.npz", **track_clip(clips_dir / f"{stem}.mp4", stride=1, max_frames=30)
        )
    stills = sorted(
        p for s in ("01", "02", "03") for p in (media_dir / "expressions").glob(f"{s}_*.png")
    )
    _save_npz(cache / "expressions.npz", **track_stills(stills))
    sets = [
        f"train.cache={cache}",
        f"train.out_dir={tmp_path / 'run'}",
        "train.batch_size=4",
        "train.val_holdout=[yale_03]",
        "train.log_every=1",
        "train.val_every=3",
        "train.ckpt_every=3",
        "fusion.hidden=8",
        "fusion.code=4",
        "train.fusion_basis=2",
    ]
    first = ResidualFusionTrainer(load_config("train_fusion_residual", [*sets, "train.steps=3"]))
    assert {p.name for p in first.people} == {"lp_d0", "lp_d5", "yale_01", "yale_02"}
    first.run()
    second = ResidualFusionTrainer(
        load_config("train_fusion_residual", [*sets, "train.steps=5", "train.resume=latest"])
    )
    weights = second.run()
    records = (tmp_path / "run" / "validation.jsonl").read_text().splitlines()
    assert len(records) == 1 and '"training_free"' in records[0]
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())[-1].endswith("5")
    fuser = build_fuser(load_config(None, ["fusion.kind=network", f"fusion.weights={weights}"]))
    assert isinstance(fuser, ResidualNetworkFusion)
    lm = np.load(cache / "lp_d0.npz")["landmarks"]
    fused = fuser.fuse(lm[5], lm[0], lm[1], 1.0)
    assert fused.shape == (478, 3) and np.isfinite(fused).all()
