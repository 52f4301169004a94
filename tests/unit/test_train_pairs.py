"""Pair definitions of both modules, the identity split and the per-step sample choice, on the
landmarks of real stills and a real clip."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from reenact.config import load_config
from reenact.errors import ConfigError
from reenact_lab.train.datasets import FusionDataset, flip_unit
from reenact_lab.train.pairs import (
    FusionPairs,
    GeneratorPairs,
    omega_candidates,
    reference_frames,
    split_by_identity,
    unit_landmarks,
    validation_pairs,
)
from reenact_lab.train.prepare import prepare
from reenact_lab.train.sampler import StepBatchSampler

STILLS = [f"{s}_{c}.png" for s in ("01", "02", "03") for c in ("normal", "happy", "surprised")]


@pytest.fixture(scope="module")
def entries(media_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("pairs")
    stills = root / "faces"
    stills.mkdir()
    for name in [*STILLS, "01_noglasses.png", "02_glasses.png"]:
        os.symlink(media_dir / "expressions" / name, stills / name)
    config = load_config(None, ["renderer.size=128"])
    return prepare(
        [str(stills), str(media_dir / "clips" / "lp_d1.mp4")],
        config,
        out_dir=root / "cache",
        progress=False,
    )


def _find(entries, unit, landmarks: np.ndarray) -> tuple[str, int]:
    """(identity, frame) of the entry frame whose unit landmarks equal `landmarks`."""
    for entry, u in zip(entries, unit):
        hits = np.flatnonzero(np.all(np.isclose(u, landmarks), axis=(1, 2)))
        if len(hits):
            return entry.identity, int(hits[0])
    raise AssertionError("landmarks not found in any entry")


def test_fusion_pair_kinds_follow_their_definitions(entries):
    pairs = FusionPairs(entries, (1.0, 1.0, 1.0))
    rng = np.random.default_rng(0)
    by_name = {e.identity: e for e in entries}
    for _ in range(20):
        cross = pairs.sample(rng, "cross")
        source_id, source_frame = _find(entries, pairs.unit, cross.source)
        target_id, target_frame = _find(entries, pairs.unit, cross.target)
        real_id, real_frame = _find(entries, pairs.unit, cross.real)
        assert source_id != target_id and real_id == target_id
        label = by_name[source_id].expression[source_frame]
        assert by_name[real_id].expression[real_frame] == label  # J_o: B with A's expression
        target = by_name[target_id]
        assert target.expression[target_frame] == "neutral" or target.variant[target_frame]
    same = pairs.sample(rng, "same")
    assert same.real is same.source
    identity, frame = _find(entries, pairs.unit, same.target)
    assert frame == by_name[identity].reference  # L_t = the entry's neutral reference
    unpaired = pairs.sample(rng, "unpaired")
    assert unpaired.real is None
    assert (
        _find(entries, pairs.unit, unpaired.source)[0]
        != _find(entries, pairs.unit, unpaired.target)[0]
    )


def test_unit_landmarks_match_the_network_convention():
    import torch

    from reenact_lab.nn.fusion import crop_to_unit

    lm = np.random.default_rng(1).uniform(0, 128, (478, 3)).astype(np.float32)
    expected = crop_to_unit(torch.from_numpy(lm), 128).numpy()
    assert np.allclose(unit_landmarks(lm, 128), expected, atol=1e-6)


def test_fusion_dataset_is_deterministic_and_flips_consistently(entries):
    pairs = FusionPairs(entries, (0.0, 1.0, 0.0))
    plain = FusionDataset(pairs, seed=3, flip=False)
    flipping = FusionDataset(pairs, seed=3, flip=True)
    a, b = plain[(0, 5)], plain[(0, 5)]
    assert all(np.array_equal(a[k], b[k]) for k in a)
    originals = [plain[(0, i)] for i in range(12)]
    flipped = [flipping[(0, i)] for i in range(12)]
    mirrored = [
        (s, p)
        for s, p in zip(flipped, originals)
        if not np.allclose(s["source"].numpy(), p["source"].numpy())
    ]
    assert mirrored, "no sample was flipped in 12 draws"
    for s, p in mirrored:  # L_s, L_t, J_o flipped together: the same pair, mirrored
        for key in ("source", "target", "real"):
            assert np.allclose(flip_unit(p[key].numpy()), s[key].numpy(), atol=1e-6)


def test_generator_pairs_use_one_identity_and_skip_variants(entries):
    pairs = GeneratorPairs(entries, reference_count=0)
    rng = np.random.default_rng(0)
    for position in range(len(pairs.truths)):
        pair = pairs.sample(rng, position)
        entry = entries[pair.entry]
        assert pair.reference != pair.truth
        assert entry.valid[pair.reference] and entry.valid[pair.truth]
        if entry.kind == "images":
            assert entry.expression[pair.truth] and entry.expression[pair.reference]
    still = next(e for e in entries if e.identity.endswith("_02"))
    assert "glasses" not in still.variant[omega_candidates(still)]
    clip = next(e for e in entries if e.kind == "clip")
    refs = reference_frames(clip, 3)
    assert len(refs) == 3 and refs[0] == clip.reference
    val = validation_pairs([clip], 4)
    assert len(val) == 4 and all(p.reference == clip.reference != p.truth for p in val)


def test_split_by_identity(entries):
    identities = sorted({e.identity for e in entries})
    split = split_by_identity(entries, (), 0.2)
    assert len(split.val_identities) == 1
    assert split_by_identity(entries, (), 0.2).val_identities == split.val_identities
    held = split_by_identity(entries, ("lp_d1",), 0.2)
    assert held.val_identities == ["lp_d1"]
    assert all(e.identity != "lp_d1" for e in held.train)
    with pytest.raises(ConfigError, match="nobody"):
        split_by_identity(entries, ("nobody",), 0.2)
    with pytest.raises(ConfigError):
        split_by_identity(entries, tuple(identities), 0.2)


def test_step_batches_split_evenly_over_ranks_and_resume():
    one = StepBatchSampler(num_samples=37, global_batch=8, seed=5, end_step=12)
    ranks = [
        StepBatchSampler(num_samples=37, global_batch=8, rank=r, world=2, seed=5, end_step=12)
        for r in (0, 1)
    ]
    for step, keys in enumerate(one):
        shares = [r.keys_for(step) for r in ranks]
        assert len(shares[0]) == len(shares[1]) == 4
        assert sorted(shares[0] + shares[1]) == sorted(keys)
    resumed = StepBatchSampler(num_samples=37, global_batch=8, seed=5, start_step=7, end_step=12)
    assert list(resumed) == list(one)[7:]
    tiny = StepBatchSampler(num_samples=3, global_batch=8, end_step=1)
    keys = tiny.keys_for(0)
    assert len(set(keys)) == 8 and {i % 3 for _, i in keys} == {0, 1, 2}
