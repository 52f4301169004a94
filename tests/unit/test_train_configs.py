"""The training presets load, and say what the paper says."""

from __future__ import annotations

import pytest

from reenact.config import load_config


@pytest.mark.parametrize("preset", ["train_fusion", "train_generator", "train_generator_warp"])
def test_presets_load_with_the_papers_settings(preset: str):
    config = load_config(preset, [])
    t = config.train
    assert (t.beta1, t.beta2, t.batch_size) == (0.5, 0.999, 8)
    assert t.data and t.val_holdout and t.flip
    if preset == "train_fusion":
        assert (t.lambda_adv, t.lambda_cycle, t.lambda_l1_fusion) == (0.1, 10.0, 100.0)
    else:
        assert (t.mu_gan, t.mu_l1, t.lr_g, t.lr_d) == (1.0, 100.0, 2e-4, 1e-4)
        assert config.renderer.ngf == 64 and config.renderer.size == 256
        warp = preset.endswith("warp")
        assert config.renderer.variant == ("warp_guided" if warp else "paper")
        assert (t.reference_frames >= 1) == warp
