"""Checkpoints: safetensors + JSON only, exact optimizer round trip, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from reenact.config import load_config
from reenact.errors import WeightsError
from reenact_lab.nn.fusion import LandmarkFusionAE
from reenact.nn.unet import UNetGenerator
from reenact_lab.train import checkpoints


def _nets(ngf: int = 4):
    torch.manual_seed(0)
    nets = {
        "generator": UNetGenerator(ngf=ngf, size=16),
        "fusion": LandmarkFusionAE(hidden=16, code=4),
    }
    optims = {
        name: torch.optim.Adam(net.parameters(), lr=1e-2, betas=(0.5, 0.999))
        for name, net in nets.items()
    }
    return nets, optims


def _step(nets, optims, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 4, 16, 16, generator=g) * 2 - 1
    lm = torch.rand(2, 478, 3, generator=g)
    loss = nets["generator"](x).abs().mean() + nets["fusion"](lm, lm).abs().mean()
    for opt in optims.values():
        opt.zero_grad()
    loss.backward()
    for opt in optims.values():
        opt.step()


def _save(tmp_path: Path, nets, optims, step: int) -> Path:
    return checkpoints.save_checkpoint(
        tmp_path, step, task="test", config={"seed": 0}, networks=nets, optimizers=optims
    )


def test_round_trip_continues_exactly(tmp_path: Path):
    nets, optims = _nets()
    for seed in range(2):
        _step(nets, optims, seed)
    folder = _save(tmp_path, nets, optims, 2)
    assert sorted(p.name for p in folder.iterdir()) == [
        "fusion.safetensors",
        "generator.safetensors",
        "optim_fusion.safetensors",
        "optim_generator.safetensors",
        "state.json",
    ]
    for path in folder.glob("*.safetensors"):
        assert path.read_bytes()[8:9] == b"{"  # safetensors header, not a pickle / zip
    state = json.loads((folder / "state.json").read_text())
    assert state["step"] == 2 and state["networks"]["generator"]["ngf"] == 4

    fresh, fresh_optims = _nets()
    _step(fresh, fresh_optims, 99)  # different state, to be overwritten
    loaded = checkpoints.load_checkpoint(
        folder, task="test", networks=fresh, optimizers=fresh_optims
    )
    assert loaded["step"] == 2
    _step(nets, optims, 2)
    _step(fresh, fresh_optims, 2)
    for name in nets:
        for (key, a), b in zip(nets[name].state_dict().items(), fresh[name].state_dict().values()):
            assert torch.equal(a, b), f"{name}.{key} differs after resume"


def test_latest_and_pruning(tmp_path: Path):
    nets, optims = _nets()
    for step in (1, 2, 3, 4):
        _save(tmp_path, nets, optims, step)
    kept = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert kept == ["step_00000002", "step_00000003", "step_00000004"]
    assert checkpoints.resolve_resume("latest", tmp_path).name == "step_00000004"
    with pytest.raises(WeightsError, match="no checkpoint"):
        checkpoints.resolve_resume("latest", tmp_path / "elsewhere")


def test_other_width_other_task_and_truncation_are_one_line_errors(tmp_path: Path):
    nets, optims = _nets(ngf=4)
    folder = _save(tmp_path, nets, optims, 1)
    wider, wider_optims = _nets(ngf=8)
    with pytest.raises(WeightsError) as err:
        checkpoints.load_checkpoint(folder, task="test", networks=wider, optimizers=wider_optims)
    message = str(err.value)
    assert "generator.safetensors" in message and "ngf=4" in message and "ngf=8" in message
    assert "\n" not in message
    with pytest.raises(WeightsError) as err:
        checkpoints.load_checkpoint(folder, task="fusion", networks=nets, optimizers=optims)
    assert "state.json" in str(err.value) and "'test' checkpoint" in str(err.value)
    weights = folder / "fusion.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(WeightsError) as err:
        checkpoints.load_checkpoint(folder, task="test", networks=nets, optimizers=optims)
    assert str(weights) in str(err.value) and "\n" not in str(err.value)


def test_optimizer_state_of_another_architecture_is_refused(tmp_path: Path):
    nets, optims = _nets()
    _step(nets, optims, 0)
    folder = _save(tmp_path, nets, optims, 1)
    other = torch.optim.Adam(LandmarkFusionAE(hidden=16, code=4, dims=2).parameters())
    with pytest.raises(WeightsError, match="optim_fusion.safetensors"):
        checkpoints.load_optimizer(other, folder / "optim_fusion.safetensors")


def test_the_run_config_is_kept_as_a_preset_has_it(tmp_path: Path):
    """The lab's `train` section sits at the top level of the checkpoint's config, as in the
    preset it came from (the loader keeps it among the config's added sections)."""
    nets, optims = _nets()
    config = load_config("train_fusion", ["train.steps=3"])
    folder = checkpoints.save_checkpoint(
        tmp_path, 3, task="test", config=config, networks=nets, optimizers=optims
    )
    saved = json.loads((folder / "state.json").read_text())["config"]
    assert saved["train"]["steps"] == 3 and "added_sections" not in saved
    assert saved["renderer"]["size"] == config.renderer.size
