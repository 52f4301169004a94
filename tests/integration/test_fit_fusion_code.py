"""`python -m reenact_lab.train.fusion_code` end to end on a tiny landmark cache tracked from real
media: it fits, chooses beta on the validation clip, and writes weights the live fuser loads."""

from __future__ import annotations

import numpy as np

from reenact.config import load_config
from reenact.engine.weights import load_weights
from reenact.fusion.coded import CodeFusion
from reenact.landmarks.expressiveness import relative
from reenact.pipeline.factory import build_fuser
from reenact_lab.train.fusion_code import main
from reenact_lab.train.fusion_data import cache_digest
from reenact_lab.train.landmark_cache import _save_npz, track_clip, track_stills


def test_fit_choose_and_load(tmp_path, clips_dir, media_dir, capsys):
    cache = tmp_path / "landmarks"
    cache.mkdir()
    for stem in ("lp_d0", "lp_d5", "lp_d8"):
        _save_npz(
            cache / f"{stem}.npz", **track_clip(clips_dir / f"{stem}.mp4", stride=1, max_frames=30)
        )
    stills = sorted(
        p for s in ("01", "02", "03") for p in (media_dir / "expressions").glob(f"{s}_*.png")
    )
    _save_npz(cache / "expressions.npz", **track_stills(stills))
    out = tmp_path / "fusion.safetensors"
    assert main(["--cache", str(cache), "--out", str(out), "--k", "2"]) == 0
    printed = capsys.readouterr().out
    assert "live self NME on lp_d8" in printed and "5 people" in printed  # lp_d8 held out
    # the weights name the landmarks they were fitted on
    assert load_weights(out)[1]["cache_digest"] == cache_digest(cache)
    assert f"landmark cache {cache_digest(cache)}" in printed
    fuser = build_fuser(load_config(None, ["fusion.kind=network", f"fusion.weights={out}"]))
    assert isinstance(fuser, CodeFusion) and 0.5 <= fuser.beta <= 1.0
    assert fuser.directions.shape == (2, 478 * 3)
    lm = np.load(cache / "lp_d0.npz")["landmarks"]
    neutral = np.median(lm[:10], axis=0).astype(np.float32)
    widest = lm[int(np.argmax(relative(lm, neutral)[:, 0]))]
    fused = fuser.fuse(widest, neutral, lm[1], 1.0)
    assert fused.shape == (478, 3) and np.isfinite(fused).all()
    # a training face's own features come back on a copy of its own neutral
    back = relative(fuser.fuse(widest, neutral, neutral, 1.0), neutral)
    np.testing.assert_allclose(back[:2], relative(widest, neutral)[:2], atol=0.03)


def test_a_missing_cache_is_one_line_and_exit_2(tmp_path, capsys):
    out = tmp_path / "fusion.safetensors"
    assert main(["--cache", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "nowhere" in err and "\n" not in err
    assert not out.exists()


def test_fit_with_the_smiles_lift(tmp_path, clips_dir, capsys):
    """`--lift`: the weights say the code also decodes the smile's lift, and the live fuser reads
    seven features from them; weights without the key decode six (the shipped file). What the
    seventh feature does is `tests/unit/test_fusion_code.py`'s."""
    cache = tmp_path / "landmarks"
    cache.mkdir()
    for stem in ("lp_d0", "lp_d8"):
        _save_npz(
            cache / f"{stem}.npz", **track_clip(clips_dir / f"{stem}.mp4", stride=1, max_frames=20)
        )
    out = tmp_path / "fusion.safetensors"
    assert main(["--cache", str(cache), "--out", str(out), "--k", "2", "--lift"]) == 0
    assert "7 features + 2 directions" in capsys.readouterr().out
    fuser = build_fuser(load_config(None, ["fusion.kind=network", f"fusion.weights={out}"]))
    assert fuser.lift and fuser.codes == 7 and fuser.directions.shape == (2, 478 * 3)
    shipped = build_fuser(load_config(None, ["fusion.kind=network"]))
    assert not shipped.lift and shipped.codes == 6
