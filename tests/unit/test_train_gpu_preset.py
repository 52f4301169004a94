"""The GPU preset and the generator preset keep the eval's clips and Yale subjects out of
training, group the people with several clips, and switch on the losses that see detail."""

from __future__ import annotations

from pathlib import Path

import pytest

from reenact.config import load_config
from reenact_lab.train.identities import parse_groups


@pytest.mark.parametrize("preset", ["train_generator", "train_generator_gpu"])
def test_held_out_identities_are_the_evals(preset: str):
    t = load_config(preset, []).train
    evaluated = {Path(c).stem for c in load_config("eval", []).eval.clips}
    assert evaluated <= set(t.val_holdout)
    assert {"expressions_14", "expressions_15"} <= set(t.val_holdout)
    groups = parse_groups(t.identities)
    assert groups["sberswap_obama"] == groups["styletalk_obama_clip1"] == "obama"
    assert t.far_pairs > 0 and t.augment_colour > 0 and t.augment_scale > 0


def test_gpu_preset_trains_with_every_detail_loss():
    config = load_config("train_generator_gpu", [])
    t = config.train
    assert (t.mu_gan, t.mu_l1, t.beta1) == (1.0, 100.0, 0.5)
    assert t.disc_scales == 2 and t.lambda_fm > 0 and t.mu_local > 0
    assert config.renderer.variant == "attention" and t.attention_weight > 0
    assert t.data == ("cache/carry",) and t.device == "cuda"
