"""Training data that teaches what matters: identity groups, far-apart and cross-clip pairs,
colour / scale augmentation, the summary, and the compact carry copy, on real clips."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.config import load_config
from reenact.errors import ConfigError
from reenact_lab.train.augment import augment_image, augment_landmarks, draw_augment
from reenact_lab.train.cache import _decode_cv2, read_cache
from reenact_lab.train.carry import pack_cache
from reenact_lab.train.identities import assign_identities, data_summary, parse_groups
from reenact_lab.train.pair_sampling import ExpressionPairs, expression_distance
from reenact_lab.train.pairs import split_by_identity
from reenact_lab.train.prepare import prepare

SIZE = 128


@pytest.fixture(scope="module")
def entries(media_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """lp_d1, lp_d2 (16 frames each) and 40 frames of lp_d0, at 128."""
    root = tmp_path_factory.mktemp("datapairs")
    config = load_config(None, [f"renderer.size={SIZE}", "train.max_frames=40"])
    clips = media_dir / "clips"
    return prepare(
        [str(clips / f"{n}.mp4") for n in ("lp_d0", "lp_d1", "lp_d2")],
        config,
        out_dir=root / "cache",
        progress=False,
    )


def test_identity_groups_hold_a_person_out_whole(entries):
    grouped = assign_identities(entries, ["pat: lp_d1 lp_d2"])
    assert {e.name: e.identity for e in grouped} == {
        "lp_d0": "lp_d0",
        "lp_d1": "pat",
        "lp_d2": "pat",
    }
    split = split_by_identity(grouped, ["lp_d2"], 0.0)  # one clip named: the person goes
    assert [e.name for e in split.train] == ["lp_d0"]
    assert sorted(e.name for e in split.val) == ["lp_d1", "lp_d2"]
    summary = data_summary(split.train, split.val)
    assert summary["held_out"]["by_identity"]["pat"]["entries"] == ["lp_d1", "lp_d2"]
    assert summary["train"]["faces"] == int(entries[0].valid.sum())
    with pytest.raises(ConfigError, match="train.identities"):
        parse_groups(["no colon here"])
    with pytest.raises(ConfigError, match="two groups"):
        parse_groups(["a: lp_d1", "b: lp_d1"])


def _mean_distance(pairs: ExpressionPairs, draws: int) -> float:
    rng = np.random.default_rng(1)
    out = []
    for k in range(draws):
        pair = pairs.sample(rng, k)
        if pair.reference_entry < 0:
            features = pairs.features[pair.entry]
            out.append(expression_distance(features, pair.truth, np.array([pair.reference]))[0])
    return float(np.mean(out))


def test_far_pairs_are_drawn_more_often_than_neighbours(entries):
    uniform = ExpressionPairs(entries, reference_count=0, far=0.0)
    far = ExpressionPairs(entries, reference_count=0, far=1.0)
    assert _mean_distance(far, 300) > 1.2 * _mean_distance(uniform, 300)


def test_cross_clip_pairs_take_the_same_persons_other_clip(entries):
    grouped = assign_identities(entries, ["pat: lp_d1 lp_d2"])
    pairs = ExpressionPairs(grouped, reference_count=0, cross_clip=1.0)
    rng = np.random.default_rng(0)
    names = [e.name for e in grouped]
    seen = set()
    for k in range(len(pairs.truths)):
        pair = pairs.sample(rng, k)
        truth_name = names[pair.entry]
        if truth_name == "lp_d0":
            assert pair.reference_entry < 0  # nobody else is lp_d0
        else:
            other = names[pair.appearance_entry]
            assert other != truth_name and {other, truth_name} == {"lp_d1", "lp_d2"}
            seen.add(truth_name)
    assert seen == {"lp_d1", "lp_d2"}


def test_augmentation_moves_landmarks_with_the_image():
    rng = np.random.default_rng(3)
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    landmarks = np.zeros((478, 3), np.float32)
    landmarks[:, :2] = [40.0, 70.0]
    cv2.circle(image, (40, 70), 2, (255, 255, 255), -1)
    for _ in range(5):
        aug = draw_augment(rng, colour=0.1, scale=0.1, size=SIZE)
        moved = augment_image(image, aug)
        ys, xs = np.nonzero(moved[..., 0] > moved[..., 0].max() * 0.8)
        expected = augment_landmarks(landmarks, aug, SIZE)[0, :2]
        # pixel centres: the dot's centroid sits half a pixel from the continuous point
        assert np.allclose([xs.mean() + 0.5, ys.mean() + 0.5], expected, atol=1.0)
    assert draw_augment(rng, colour=0, scale=0, size=SIZE).identity


def test_carry_copy_reads_back_without_pyav(entries, tmp_path: Path):
    folder, mib, crf = pack_cache(entries, tmp_path / "carry", crf=26, budget_mib=10, size=SIZE)
    assert mib < 10 and crf == 26
    packed = read_cache(folder)
    assert [e.name for e in packed] == [e.name for e in entries]
    for full, small in zip(entries, packed):
        good = full.valid
        assert np.array_equal(small.valid, good)
        assert np.abs(small.landmarks[good, :, :2] - full.landmarks[good, :, :2]).max() <= 1 / 64
        assert np.isnan(small.landmarks[~good]).all()
        crops = np.stack(_decode_cv2(small.crops_path))  # the GPU machine has OpenCV, no PyAV
        diff = crops.astype(float) - full.load_crops()
        assert 10 * np.log10(255**2 / np.mean(diff**2)) > 28
