"""Weights brought back from a GPU machine in shards: split, join, and a missing shard named."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from reenact_lab.train.shards import join_weights, split_weights
from reenact.engine.weights import load_into, save_module
from reenact.errors import WeightsError
from reenact.nn.unet import UNetGenerator


def test_split_and_join_round_trip_in_fp16(tmp_path: Path):
    torch.manual_seed(0)
    gen = UNetGenerator(ngf=16, size=256)
    path = save_module(tmp_path / "generator.safetensors", gen, {"steps": 5})
    shards = split_weights(path, tmp_path / "shards", max_mib=2.0)
    assert len(shards) > 1 and all(p.stat().st_size <= 2 * 2**20 for p in shards)
    joined = join_weights(shards, tmp_path / "joined.safetensors")
    again = UNetGenerator(ngf=16, size=256)
    meta = load_into(again, joined)
    assert meta["steps"] == "5"
    for (k, a), b in zip(gen.state_dict().items(), again.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=2e-3, rtol=1e-3), k
    with pytest.raises(WeightsError, match="pass every shard"):
        join_weights(shards[1:], tmp_path / "broken.safetensors")
