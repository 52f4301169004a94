"""The lab's region-parametrised local trainer (`lab.local_data`, `lab.train_local`), on synthetic
samples: the regions' table is complete, and one trainer steps and learns for each region."""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import pytest
import torch

from lab import train_local
from lab.local_data import REGIONS, Region
from reenact.engine.shipped import MODELS_DIR
from reenact.nn.local_gen import LocalGenerator
from reenact.render import learned_eyes, learned_mouth

BOX_HW = {"mouth": learned_mouth.BOX_HW, "eyes": learned_eyes.BOX_HW}
GEOMETRY = (
    "shape",
    "second_ref",
    "change",
    "fields",
    "box",
    "cut",
    "contours",
    "warps",
    "measure_renderers",
)


def _samples(region: Region, n: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    """n samples whose real box differs from the warp inside the contours' band."""
    h, w = BOX_HW[region.name]
    rng = np.random.default_rng(seed)
    warp = rng.integers(60, 200, (n, h, w, 3), dtype=np.uint8)
    lines = np.zeros((n, h, w), np.uint8)
    lines[:, h // 2 - 2 : h // 2 + 2, w // 4 : 3 * w // 4] = 255
    real = warp.copy()
    real[:, h // 3 : 2 * h // 3, w // 4 : 3 * w // 4] = 30  # a dark opening the warp lacks
    return {
        "rest": warp.copy(),
        "warp": warp,
        region.lines: lines,
        "real": real,
        "painted": warp.copy(),
        "change": np.linspace(0, 2 * region.changed, n).astype(np.float32),
    }


def test_every_region_fills_the_table_and_its_geometry():
    assert set(REGIONS) == {"mouth", "eyes"}
    for name, region in REGIONS.items():
        assert region.name == name
        for field in dataclasses.fields(Region):
            assert getattr(region, field.name) is not None, (name, field.name)
        for method in GEOMETRY:  # each region draws its own boxes and scores
            assert getattr(type(region), method) is not getattr(Region, method), (name, method)
        assert region.groups[0] == "all"
        assert region.lines in region.keys
        assert (MODELS_DIR / f"{region.model}.safetensors").exists()
    assert REGIONS["mouth"].lines != REGIONS["eyes"].lines


@pytest.mark.parametrize("name", sorted(REGIONS))
def test_change_is_zero_against_itself_and_sized_per_part(name):
    region = REGIONS[name]
    lm = np.random.default_rng(1).uniform(60, 200, (5, 478, 3)).astype(np.float32)
    stats = region.shape(lm)
    frames = np.arange(5)
    assert np.allclose(region.change(stats, frames, frames), 0)
    moved = region.change(stats, frames, np.zeros(5, dtype=np.int64))
    assert moved.shape == (5, len(region.parts))
    assert (moved[1:] > 0).all()


@pytest.mark.parametrize("name", sorted(REGIONS))
def test_one_region_trains_on_a_repeated_batch(name):
    region = REGIONS[name]
    torch.manual_seed(0)
    data = _samples(region)
    idx = np.arange(4)
    model = LocalGenerator()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))
    x, warp, real, lines = train_local.batch(region, data, idx, augment=True)
    assert x.shape == (4, 7, *BOX_HW[name])
    losses = []
    for _ in range(12):
        x, warp, real, lines = train_local.batch(region, data, idx, augment=False)
        loss, parts, _ = train_local.loss_of(region, model, x, warp, real, lines)
        assert ("rgb" in parts) == (region.colour > 0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses
    scores = train_local.validate(region, model, data)
    assert set(scores) == {
        f"{k}{s}" for k in ("painted", "warp", "learned") for s in ("", f"_{region.changed_key}")
    }
    assert scores["warp"] == pytest.approx(scores["painted"])


def test_changed_samples_are_drawn_more_often():
    for region in REGIONS.values():
        p = train_local.sampler(region, np.array([0.0, region.full_draw, 10 * region.full_draw]))
        assert p.sum() == pytest.approx(1)
        assert p[0] < p[1] == pytest.approx(p[2])


def test_a_gan_step_runs_and_the_sharp_recipe_gives_its_terms():
    region = REGIONS["mouth"]
    torch.manual_seed(0)
    data = _samples(region)
    model = LocalGenerator()
    disc = train_local.local_gan.make_disc()
    gan = (disc, torch.optim.Adam(disc.parameters(), lr=1e-3))
    x, warp, real, lines = train_local.batch(region, data, np.arange(4), augment=True)
    opts = argparse.Namespace(
        l1_blur=1.5, lip_weight=1.0, ssim_weight=0.5, edges=0.2, lap=0.5, lap_global=0.1
    )
    loss, parts, out = train_local.sharp_loss_of(model, x, warp, real, lines, opts)
    terms, more = train_local.adversarial_terms(gan, 0.1, x, out, real)
    (loss + terms).backward()
    assert {"lap", "lapg"} <= set(parts) and {"adv", "fm"} <= set(more)
    assert np.isfinite(train_local.discriminator_step(gan, x, out, real))


def test_pairs_of_another_region_are_refused(tmp_path):
    np.savez(tmp_path / "clip.npz", **_samples(REGIONS["mouth"]))
    train, _ = train_local.load_pairs(REGIONS["mouth"], tmp_path, held=set())
    assert len(train["change"]) == 4
    with pytest.raises(SystemExit, match="clip.npz: no 'lines'"):
        train_local.load_pairs(REGIONS["eyes"], tmp_path, held=set())
