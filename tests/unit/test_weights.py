"""Safetensors weights: exact round trips, fp16 storage, and refusals with the file's name."""

from __future__ import annotations

import json
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from safetensors.torch import save as safetensors_save

from reenact.engine.weights import FORMAT, load_into, load_weights, save_module, save_weights
from reenact.errors import WeightsError
from reenact.nn import UNetGenerator
from reenact_lab.nn.fusion import LandmarkFusionAE
from reenact_lab.nn.patchgan import PatchDiscriminator


@pytest.fixture(autouse=True)
def never_unpickle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any call to torch.load or pickle loading during these tests is a failure."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("weights code must never unpickle")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)


def small_unet(seed: int, *, ngf: int = 8) -> UNetGenerator:
    torch.manual_seed(seed)
    return UNetGenerator(ngf=ngf, size=64).eval()


def image_batch() -> torch.Tensor:
    return torch.rand(2, 4, 64, 64, generator=torch.Generator().manual_seed(7)) * 2 - 1


def test_fp32_round_trip_is_exact(tmp_path: Path) -> None:
    model = small_unet(0)
    with torch.no_grad():  # make the BatchNorm running stats non-trivial
        model.downs[1][2].running_mean.uniform_(-0.1, 0.1)
    path = save_module(tmp_path / "unet.safetensors", model, {"steps": 1200})
    restored = small_unet(1)
    meta = load_into(restored, path)
    assert meta["ngf"] == "8" and meta["arch"] == "unet" and meta["steps"] == "1200"
    assert meta["storage_dtype"] == "native"
    with torch.no_grad():
        assert torch.equal(restored(image_batch()), model(image_batch()))
    assert not list(tmp_path.glob(".*tmp*")), "the temporary file must be renamed away"


def test_fp16_storage_is_close_and_half_size(tmp_path: Path) -> None:
    model = small_unet(0)
    full = save_module(tmp_path / "fp32.safetensors", model)
    half = save_module(tmp_path / "fp16.safetensors", model, dtype=torch.float16)
    assert half.stat().st_size < 0.55 * full.stat().st_size
    state_dict, meta = load_weights(half)
    assert meta["storage_dtype"] == "float16"
    assert state_dict["downs.0.0.weight"].dtype == torch.float16
    assert state_dict["downs.1.2.num_batches_tracked"].dtype == torch.int64  # ints kept
    restored = small_unet(1)
    load_into(restored, half)
    assert restored.downs[0][0].weight.dtype == torch.float32
    with torch.no_grad():
        expected, result = model(image_batch()), restored(image_batch())
    assert not torch.equal(result, expected)
    torch.testing.assert_close(result, expected, atol=2e-2, rtol=0)
    as_fp32, _ = load_weights(half, dtype=torch.float32)
    assert as_fp32["downs.0.0.weight"].dtype == torch.float32


def test_spectral_norm_and_fusion_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    disc = PatchDiscriminator(ndf=8).train()
    disc(torch.rand(1, 6, 64, 64))  # one power iteration: u, v differ from a fresh module
    disc.eval()
    other = PatchDiscriminator(ndf=8).eval()
    load_into(other, save_module(tmp_path / "d.safetensors", disc))
    x = torch.rand(1, 6, 64, 64)
    with torch.no_grad():
        assert torch.equal(other(x), disc(x))
    phi = LandmarkFusionAE(hidden=32, code=8)
    phi_copy = LandmarkFusionAE(hidden=32, code=8)
    load_into(phi_copy, save_module(tmp_path / "phi.safetensors", phi))
    lm = torch.rand(2, 478, 3)
    assert torch.equal(phi_copy.fuse(lm, lm), phi.fuse(lm, lm))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"nowhere\.safetensors: weights file not found"):
        load_weights(tmp_path / "nowhere.safetensors")


@pytest.mark.parametrize("keep", [5, 60, -100])
def test_truncated_file(tmp_path: Path, keep: int) -> None:
    path = save_module(tmp_path / "cut.safetensors", small_unet(0))
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    with pytest.raises(WeightsError, match=r"cut\.safetensors: truncated") as info:
        load_into(small_unet(0), path)
    assert "\n" not in str(info.value)


def test_corrupt_header(tmp_path: Path) -> None:
    path = tmp_path / "notes.safetensors"
    path.write_text("these are not weights at all")
    with pytest.raises(WeightsError, match=r"notes\.safetensors: not a safetensors file"):
        load_weights(path)


@pytest.mark.parametrize("zip_format", [True, False])
def test_torch_save_pickle_is_refused(tmp_path: Path, zip_format: bool) -> None:
    path = tmp_path / "checkpoint.pt"
    with open(path, "wb") as f:  # torch.save writes through pickle.dump, which stays allowed
        torch.save(small_unet(0).state_dict(), f, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(WeightsError, match=r"checkpoint\.pt: is a pickled torch\.save checkpoint"):
        load_into(small_unet(0), path)


def test_checkpoint_from_another_width(tmp_path: Path) -> None:
    path = save_module(tmp_path / "weights.safetensors", small_unet(0, ngf=16))
    with pytest.raises(WeightsError) as info:
        load_into(small_unet(0), path)
    assert str(info.value).startswith(f"{path}: built for unet ngf=16, expected unet ngf=8;"), str(
        info.value
    )


def test_expected_meta_on_load_weights(tmp_path: Path) -> None:
    meta = {"arch": "unet", "size": 256}
    path = save_weights(tmp_path / "w.safetensors", {"a": torch.zeros(3)}, meta)
    load_weights(path, expected={"arch": "unet", "size": 256})
    message = r"w\.safetensors: built for unet size=256, expected unet size=512"
    with pytest.raises(WeightsError, match=message):
        load_weights(path, expected={"size": 512})
    with pytest.raises(WeightsError, match=r"built for unet, expected fusion"):
        load_weights(path, expected={"arch": "fusion"})


def test_key_and_shape_mismatch(tmp_path: Path) -> None:
    path = save_module(tmp_path / "wide.safetensors", small_unet(0, ngf=16))
    shape_message = (
        r"wide\.safetensors: does not fit UNetGenerator "
        r"\(downs\.0\.0\.weight is \(16, 4, 4, 4\), expected \(8, 4, 4, 4\)"
    )
    with pytest.raises(WeightsError, match=shape_message):
        load_into(small_unet(0), path, expected={})  # {}: skip the metadata check
    partial = {k: v for k, v in small_unet(0).state_dict().items() if not k.startswith("output")}
    partial["extra.weight"] = torch.zeros(1)
    path = save_weights(tmp_path / "partial.safetensors", partial, {"arch": "unet"})
    with pytest.raises(WeightsError, match=r"missing output\.1\.weight.*unexpected extra\.weight"):
        load_into(small_unet(0), path, expected={"arch": "unet"})


def test_save_validates_and_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "w.safetensors"
    tied = torch.arange(6.0)
    save_weights(path, {"a": tied, "b": tied, "view": tied[2:]}, {"note": "first"})
    state_dict, meta = load_weights(path)
    assert torch.equal(state_dict["b"], tied) and torch.equal(state_dict["view"], tied[2:])
    save_weights(path, {"a": torch.ones(2)}, {"note": "second"})
    assert load_weights(path)[1]["note"] == "second"
    with pytest.raises(ValueError, match="reserved"):
        save_weights(path, {}, {"format": "mine"})
    assert load_weights(path)[1]["note"] == "second", "a failed save must leave the old file"


def test_header_length_that_looks_like_a_pickle_opcode(tmp_path: Path) -> None:
    """A safetensors header of 0x0280 bytes starts with b"\\x80\\x02" like a pickle; it loads."""
    tensors = {"a": torch.ones(3)}
    extra = {"format": FORMAT, "storage_dtype": "native"}  # what save_weights adds
    pad = next(  # find the padding in memory; save_weights writes with fsync
        n
        for n in range(700)
        if safetensors_save(tensors, metadata={"note": "x" * n, **extra})[:2] == b"\x80\x02"
    )
    path = save_weights(tmp_path / "w.safetensors", tensors, {"note": "x" * pad})
    assert path.read_bytes()[:2] == b"\x80\x02"
    state_dict, _ = load_weights(path)
    assert torch.equal(state_dict["a"], torch.ones(3))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_weights_that_are_not_finite_are_refused(tmp_path: Path, bad: float) -> None:
    model = small_unet(0)
    state = model.state_dict()
    key = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)
    state[key] = state[key].clone()
    state[key].view(-1)[1] = bad
    path = save_weights(tmp_path / "broken.safetensors", state, model.arch_meta())
    with pytest.raises(WeightsError, match=rf"broken\.safetensors: tensor {key} holds NaN"):
        load_into(small_unet(1), path)
    save_weights(tmp_path / "fine.safetensors", model.state_dict(), model.arch_meta())
    load_into(small_unet(1), tmp_path / "fine.safetensors")  # the same weights, finite, load


_SAVE_IN_A_PROCESS = """
import sys, torch
from reenact.engine.weights import save_weights
state = {"w": torch.arange(12.0).reshape(3, 4), "b": torch.ones(4, dtype=torch.float16)}
save_weights(sys.argv[1], state, {f"key{i:02d}": f"value {i}" for i in range(16)})
"""


def test_the_same_weights_give_the_same_bytes_in_every_process(tmp_path: Path) -> None:
    """safetensors writes metadata in a random order per process (its issue #584): two saves
    of the same weights differed byte for byte, so a refit that changed nothing changed the file
    and its checksum. The header's metadata keys are now sorted, and the file still loads."""
    paths = [tmp_path / f"w{i}.safetensors" for i in range(3)]
    for path in paths:
        subprocess.run([sys.executable, "-c", _SAVE_IN_A_PROCESS, str(path)], check=True)
    first = paths[0].read_bytes()
    assert all(p.read_bytes() == first for p in paths[1:])
    (size,) = struct.unpack("<Q", first[:8])
    keys = list(json.loads(first[8 : 8 + size])["__metadata__"])
    assert keys == sorted(keys) and len(keys) == 18  # 16 + format + storage_dtype
    tensors, meta = load_weights(paths[0])
    assert meta["key07"] == "value 7" and torch.equal(
        tensors["w"], torch.arange(12.0).reshape(3, 4)
    )
