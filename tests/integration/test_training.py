"""Both trainers on real frames: the loss falls, checkpoints round-trip, resume is exact,
two DDP processes take the same steps as one, and bad inputs fail in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from reenact.cli.main import main
from reenact.config import load_config
from reenact.engine.weights import load_weights
from reenact.errors import WeightsError
from reenact_lab.train.fusion_trainer import FusionTrainer
from reenact_lab.train.generator_trainer import GeneratorTrainer
from reenact_lab.train.prepare import prepare

REPO = Path(__file__).resolve().parents[2]
STILLS = [f"{s}_{c}.png" for s in ("01", "02", "03") for c in ("normal", "happy", "surprised")]
SIZE = 64
FUSION = ["fusion.hidden=64", "fusion.code=16", "train.lr_fusion=0.001", "train.batch_size=8"]
GENERATOR = [f"renderer.size={SIZE}", "renderer.ngf=8", "train.lr_g=0.001", "train.batch_size=4"]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks on a shared 2-core machine: one intra-op thread is faster and steadier."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def cache(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lp_d1 and lp_d2 (16 frames each) and three people's neutral / happy / surprised stills."""
    root = tmp_path_factory.mktemp("training")
    stills = root / "yale"
    stills.mkdir()
    for name in STILLS:
        os.symlink(media_dir / "expressions" / name, stills / name)
    clips = media_dir / "clips"
    config = load_config(None, [f"renderer.size={SIZE}"])
    prepare(
        [str(clips / "lp_d1.mp4"), str(clips / "lp_d2.mp4"), str(stills)],
        config,
        out_dir=root / "cache",
        progress=False,
    )
    return root / "cache"


def _config(cache: Path, out: Path, steps: int, extra: list[str]):
    return load_config(
        None,
        [
            f"train.data=[{cache}]",
            f"train.out_dir={out}",
            f"train.steps={steps}",
            "train.val_holdout=[lp_d2]",
            "train.progress=false",
            "train.log_every=0",
            "train.image_every=0",
            "train.val_every=0",
            "train.ckpt_every=0",
            "train.device=cpu",
            *extra,
        ],
    )


def _mean(history: list[dict[str, float]], key: str, part: slice) -> float:
    return float(np.mean([row[key] for row in history[part]]))


def _fusion_l1(trainer: FusionTrainer, batch: dict[str, torch.Tensor]) -> float:
    """Mean || J_gen - J_o ||_1 over the paired samples of a fixed batch."""
    with torch.no_grad():
        fused = trainer.phi.fuse(batch["source"], batch["target"])
    per_sample = (fused - batch["real"]).abs().mean(dim=(1, 2)) * batch["paired"]
    return float(per_sample.sum() / batch["paired"].sum())


def test_fusion_training_lowers_its_loss(cache: Path, tmp_path: Path):
    """Phi on same-person pairs of a clip and three people's stills, 200 steps (beta1 0.9: the
    paper's 0.5 makes this tiny run noisy)."""
    extra = [*FUSION, "train.fusion_mix=[0,1,0]", "train.flip=false", "train.beta1=0.9"]
    trainer = FusionTrainer(_config(cache, tmp_path, 200, extra))
    items = [trainer.dataset()[(1000, i)] for i in range(32)]  # a fixed batch of training pairs
    batch = {k: torch.stack([item[k] for item in items]) for k in items[0]}
    before = _fusion_l1(trainer, batch)
    result = trainer.run()
    assert _fusion_l1(trainer, batch) < 0.8 * before
    assert result.weights == tmp_path / "fusion.safetensors"
    _, meta = load_weights(result.weights, expected={"arch": "fusion", "hidden": 64, "code": 16})
    assert meta["steps"] == "200"
    from reenact.fusion.network import NetworkFusion  # the live fuser loads it by path

    live = load_config(None, [f"renderer.size={SIZE}", f"fusion.weights={result.weights}"])
    fuser = NetworkFusion.from_weights(result.weights, live)
    neutral = trainer.split.train[0].landmarks[trainer.split.train[0].reference]
    assert np.allclose(fuser.fuse(neutral, neutral, neutral, 1.0), neutral, atol=1e-3)
    record = json.loads((tmp_path / "validation.json").read_text())[-1]
    assert record["identities"] == ["lp_d2"] and record["same"]["nme"] >= 0
    assert record["same"]["baselines"]["target"] > 0


@pytest.mark.parametrize("variant", ["paper", "warp_guided"])
def test_generator_training_lowers_its_loss(cache: Path, tmp_path: Path, variant: str):
    extra = [
        *GENERATOR,
        f"renderer.variant={variant}",
        "train.reference_frames=2",
        "train.val_frames=4",
        "train.image_every=20",
        "train.val_every=10",
    ]
    result = GeneratorTrainer(_config(cache, tmp_path, 30, extra)).run()
    first, last = (
        _mean(result.history, "pixel_l1", slice(0, 6)),
        _mean(result.history, "pixel_l1", slice(-6, None)),
    )
    assert last < 0.85 * first
    assert (tmp_path / "images" / "step_00000020.png").is_file()
    record = json.loads((tmp_path / "validation.json").read_text())[-1]
    assert record["variant"] == variant and record["samples"] == 4
    assert 0 < record["ssim"] <= 1 and record["psnr"] > 0
    assert record["baselines"]["warp"]["psnr"] > 20  # the training-free warp, for comparison
    records = json.loads((tmp_path / "validation.json").read_text())
    assert [r["step"] for r in records] == [10, 20, 30]
    best = max(records, key=lambda r: r["ssim"])  # the weights kept are the best validation's
    _, best_meta = load_weights(tmp_path / "generator_best.safetensors")
    assert int(best_meta["steps"]) == best["step"]
    assert float(best_meta["best_ssim"]) == pytest.approx(best["ssim"], abs=1e-6)
    from reenact.render.generator import load_generator

    model, meta = load_generator(tmp_path / "generator.safetensors", size=SIZE)
    assert meta["variant"] == variant and model.in_channels == (4 if variant == "paper" else 7)


def test_warps_are_kept_where_train_warp_dir_says(cache: Path, tmp_path: Path):
    """On a lent GPU the cache is carried up again on a warm machine, which replaces its folder:
    train.warp_dir keeps the warps elsewhere, and a second run reuses them."""
    from reenact_lab.train import warps

    folder = tmp_path / "warps"
    extra = [
        *GENERATOR,
        "renderer.variant=warp_guided",
        "train.reference_frames=2",
        f"train.warp_dir={folder}",
    ]
    GeneratorTrainer(_config(cache, tmp_path / "a", 1, extra)).run()
    kept = sorted(p.name for p in folder.glob("*.npy"))
    assert {"lp_d1", "lp_d2"} <= {name.split("_s")[0] for name in kept}  # train and validation
    made = []
    original = warps.render_warps
    warps.render_warps = lambda *a, **k: made.append(1) or original(*a, **k)
    try:
        GeneratorTrainer(_config(cache, tmp_path / "b", 1, extra)).run()
    finally:
        warps.render_warps = original
    assert made == [] and sorted(p.name for p in folder.glob("*.npy")) == kept


def test_saved_warps_are_read_memory_mapped_and_unsaved_ones_stay_in_memory(
    cache: Path, tmp_path: Path
):
    """The full warp cache outgrows a 24 GB machine at 8 reference frames: a bank whose warps are
    saved holds none of them in memory, made or read back, and gives the same pixels as one that
    cannot save (an entry without a source stamp has no file name) and keeps them. A warp_dir
    that is a file is a one-line error naming it."""
    import dataclasses

    from reenact.errors import InputError
    from reenact_lab.train.cache import read_cache
    from reenact_lab.train.datasets import resize_entry
    from reenact_lab.train.generator_trainer import build_dataset
    from reenact_lab.train.pairs import omega_candidates
    from reenact_lab.train.warps import render_warps

    entries = [e for e in read_cache(cache) if e.name == "lp_d1"]

    def dataset(folder, chosen=entries):
        return build_dataset(
            chosen,
            size=SIZE,
            reference_count=2,
            seed=0,
            flip=False,
            warp_guided=True,
            workers=1,
            progress=False,
            warp_dir=str(folder),
        )

    first = dataset(tmp_path / "warps")
    made, again = first.warps, dataset(tmp_path / "warps").warps
    unstamped = [dataclasses.replace(entries[0], source_stamp="")]
    kept = dataset(tmp_path / "unstamped", unstamped).warps
    assert not (tmp_path / "unstamped").exists()
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    with pytest.raises(InputError, match="train.warp_dir: .*blocked is a file"):
        dataset(blocked)
    assert made.resident_bytes == 0 and again.resident_bytes == 0
    assert kept.resident_bytes > 0
    references, frames = first.pairs.references[0], omega_candidates(entries[0])
    assert len(references) == 2 and len(frames) > 1
    crops, landmarks = resize_entry(entries[0], SIZE)
    for ref in references:
        truth = render_warps(crops, landmarks, int(ref), frames, SIZE)
        for j in (int(frames[0]), int(frames[-1])):
            got = [b.get(0, int(ref), j) for b in (made, again, kept)]
            assert all(np.array_equal(g, truth[j]) and g.flags.writeable for g in got)


def test_generator_training_with_the_detail_losses_lowers_its_loss(cache: Path, tmp_path: Path):
    """Two-scale D + feature matching, local eye / mouth Ds and their L1, the attention output, far
    pairs and augmentation, all on: it trains (pixel L1 falls) and every added loss is logged."""
    extra = [
        *GENERATOR,
        "renderer.variant=attention",
        "train.disc_scales=2",
        "train.lambda_fm=10",
        "train.mu_local=1",
        "train.mu_l1_regions=100",
        "train.far_pairs=0.5",
        "train.augment_colour=0.1",
        "train.augment_scale=0.05",
        "train.val_frames=4",
    ]
    result = GeneratorTrainer(_config(cache, tmp_path, 30, extra)).run()
    first, last = (
        _mean(result.history, "pixel_l1", slice(0, 6)),
        _mean(result.history, "pixel_l1", slice(-6, None)),
    )
    assert last < 0.85 * first
    assert {"feature_matching", "local_gan", "regions_l1", "attention", "cgan"} <= set(
        result.history[-1]
    )
    from reenact.render.generator import load_generator

    model, meta = load_generator(tmp_path / "generator.safetensors", size=SIZE)
    assert meta["variant"] == "attention" and model.in_channels == 4


def test_final_weights_reproduce_the_trained_outputs(cache: Path, tmp_path: Path):
    from reenact.render.generator import load_generator
    from reenact_lab.train.datasets import generator_input

    trainer = GeneratorTrainer(_config(cache, tmp_path, 3, GENERATOR))
    trainer.run()
    pair = trainer.dataset().pairs.sample(np.random.default_rng(0), 0)
    item = trainer.dataset().item(pair)
    x = generator_input({k: v[None] for k, v in item.items()})
    trainer.gen.eval()
    with torch.no_grad():
        expected = trainer.gen(x)
        loaded, _ = load_generator(tmp_path / "generator.safetensors", size=SIZE)
        assert torch.equal(loaded(x), expected)


def test_an_average_of_the_weights_is_what_the_run_saves(cache: Path, tmp_path: Path):
    """train.ema: the saved weights (and the best kept by validation) are the average, not the
    last step's weights, and they load as a generator."""
    from reenact.render.generator import load_generator

    trainer = GeneratorTrainer(
        _config(cache, tmp_path, 6, [*GENERATOR, "train.ema=0.5", "train.val_every=3"])
    )
    trainer.run()
    saved, meta = load_weights(tmp_path / "generator.safetensors")
    average, live = trainer.average.module.state_dict(), trainer.gen.state_dict()
    assert saved.keys() == live.keys() and int(trainer.average.n_averaged) == 6
    assert all(torch.equal(saved[k], average[k]) for k in saved)
    assert not all(torch.equal(saved[k], live[k]) for k in saved)
    assert meta["steps"] == "6" and (tmp_path / "generator_best.safetensors").is_file()
    load_generator(tmp_path / "generator.safetensors", size=SIZE)


@pytest.mark.parametrize("average", ["0", "0.5"])
def test_resume_continues_exactly_like_an_uninterrupted_run(
    cache: Path, tmp_path: Path, average: str
):
    """...the average of the weights included (train.ema: its count is in the checkpoint)."""
    extra = [*GENERATOR, "train.ckpt_every=3", f"train.ema={average}"]
    straight = GeneratorTrainer(_config(cache, tmp_path / "a", 6, extra)).run()
    GeneratorTrainer(_config(cache, tmp_path / "b", 3, extra)).run()
    resumed = GeneratorTrainer(
        _config(cache, tmp_path / "b", 6, [*extra, "train.resume=latest"])
    ).run()
    assert [row["pixel_l1"] for row in resumed.history] == [
        row["pixel_l1"] for row in straight.history[3:]
    ]
    a, _ = load_weights(tmp_path / "a" / "generator.safetensors")
    b, _ = load_weights(tmp_path / "b" / "generator.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_time_budget_ends_like_the_last_step(cache: Path, tmp_path: Path):
    """train.max_minutes stops early (a GPU lease is counted in minutes) but finishes as at
    train.steps: a checkpoint, a validation and final weights recording the steps taken;
    without the budget the same run takes all its steps."""
    budget = GeneratorTrainer(
        _config(cache, tmp_path / "a", 10_000, [*GENERATOR, "train.max_minutes=0.000001"])
    ).run()
    assert 0 < budget.steps < 10_000 and budget.validation is not None
    _, meta = load_weights(tmp_path / "a" / "generator.safetensors")
    assert meta["steps"] == str(budget.steps)
    assert (tmp_path / "a" / "validation.json").is_file()
    full = GeneratorTrainer(_config(cache, tmp_path / "b", 3, GENERATOR)).run()
    assert full.steps == 3


def test_two_ddp_processes_take_the_same_steps_as_one(cache: Path, tmp_path: Path):
    overrides = [
        f"train.data=[{cache}]",
        "train.steps=6",
        "train.val_holdout=[lp_d2]",
        "train.progress=false",
        "train.device=cpu",
        "train.val_every=0",
        *FUSION,
    ]
    args = ["train", "fusion"] + [a for o in overrides for a in ("--set", o)]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "reenact.cli.main",
        *args,
        "--out",
        str(tmp_path / "two"),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    one, _ = load_weights(tmp_path / "one" / "fusion.safetensors")
    two, _ = load_weights(tmp_path / "two" / "fusion.safetensors")
    assert one.keys() == two.keys()
    for key in one:
        assert torch.allclose(one[key], two[key], atol=1e-5), key
    from reenact_lab.nn.fusion import LandmarkFusionAE

    torch.manual_seed(0)  # the trainer's seed: Phi's initial weights
    initial = LandmarkFusionAE(hidden=64, code=16).state_dict()
    assert not torch.allclose(initial["decoder.0.weight"], one["decoder.0.weight"])


def test_resume_from_another_width_is_a_one_line_error(cache: Path, tmp_path: Path, capsys):
    GeneratorTrainer(_config(cache, tmp_path, 1, GENERATOR)).run()
    # what the run that made the checkpoint said (its status lines, shown once an earlier
    # test's `main` has set up the terminal) is not the resumed command's output
    capsys.readouterr()
    folder = tmp_path / "checkpoints" / "step_00000001"
    args = [
        "train",
        "generator",
        "--data",
        str(cache),
        "--out",
        str(tmp_path),
        "--steps",
        "2",
        "--resume",
        str(folder),
    ]
    sets = [
        *GENERATOR[:1],
        "renderer.ngf=16",
        "train.progress=false",
        "train.device=cpu",
        "train.val_holdout=[lp_d2]",
    ]
    code = main([*args] + [a for s in sets for a in ("--set", s)])
    assert code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "generator.safetensors" in err[0] and "ngf=8" in err[0]


def test_truncated_final_weights_name_the_file(cache: Path, tmp_path: Path):
    from reenact.render.generator import load_generator

    FusionTrainer(_config(cache, tmp_path, 1, FUSION)).run()
    GeneratorTrainer(_config(cache, tmp_path, 1, GENERATOR)).run()
    for name in ("generator.safetensors", "fusion.safetensors"):
        path = tmp_path / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size - 64])
        with pytest.raises(WeightsError) as err:
            load_weights(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(WeightsError):
        load_generator(tmp_path / "generator.safetensors")
