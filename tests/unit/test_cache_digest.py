"""The landmark cache's fingerprint (`reenact_lab.train.fusion_data.cache_digest`) and the line
`fusion_validate` prints from it (`fitted_on`): the same landmarks give the same digest however
the files were written; any other tracking gives another."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reenact.engine.weights import save_weights
from reenact.errors import InputError
from reenact_lab.train.fusion_data import cache_digest
from reenact_lab.train.fusion_validate import fitted_on
from reenact_lab.train.landmark_cache import _save_npz


def _cache(folder, landmarks: np.ndarray, save=_save_npz) -> None:
    folder.mkdir(exist_ok=True)
    save(
        folder / "lp_d0.npz",
        landmarks=landmarks,
        frame_index=np.arange(len(landmarks), dtype=np.int64),
        names=np.asarray([""] * len(landmarks)),
    )
    _save_npz(
        folder / "expressions.npz",
        landmarks=landmarks[:2] + 1.0,
        frame_index=np.arange(2, dtype=np.int64),
        names=np.asarray(["01_normal.png", "01_happy.png"]),
    )


@pytest.fixture()
def landmarks() -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 256, (5, 478, 3)).astype(np.float32)


def test_the_same_landmarks_written_otherwise_keep_their_digest(tmp_path, landmarks):
    _cache(tmp_path / "a", landmarks)
    first = cache_digest(tmp_path / "a")
    assert len(first) == 16 and int(first, 16) >= 0
    _cache(tmp_path / "b", landmarks, save=np.savez_compressed)
    # the files differ (one is compressed); the digest must not
    assert (tmp_path / "a" / "lp_d0.npz").read_bytes() != (
        tmp_path / "b" / "lp_d0.npz"
    ).read_bytes()
    assert cache_digest(tmp_path / "b") == first


def test_another_tracking_changes_the_digest(tmp_path, landmarks):
    _cache(tmp_path / "a", landmarks)
    moved = landmarks.copy()
    moved[3, 61, 1] += 1e-3  # one mouth corner, a thousandth of a pixel
    _cache(tmp_path / "b", moved)
    assert cache_digest(tmp_path / "b") != cache_digest(tmp_path / "a")
    (tmp_path / "a" / "lp_d0.npz").rename(tmp_path / "a" / "lp_d1.npz")  # another clip's name
    _cache(tmp_path / "c", landmarks)
    assert cache_digest(tmp_path / "a") != cache_digest(tmp_path / "c")


def test_an_empty_cache_is_an_error_naming_it(tmp_path):
    with pytest.raises(InputError, match="nowhere: no landmark files"):
        cache_digest(tmp_path / "nowhere")


def test_fitted_on_says_which_cache(tmp_path, landmarks):
    _cache(tmp_path / "a", landmarks)
    digest = cache_digest(tmp_path / "a")
    tensors = {"mean": torch.zeros(3)}
    same, other, old = (tmp_path / f"{n}.safetensors" for n in ("same", "other", "old"))
    save_weights(same, tensors, {"arch": "x", "cache_digest": digest})
    save_weights(other, tensors, {"arch": "x", "cache_digest": "0123456789abcdef"})
    save_weights(old, tensors, {"arch": "x"})
    assert "fitted on this landmark cache" in fitted_on(str(same), digest)
    line = fitted_on(str(other), digest)
    assert "0123456789abcdef" in line and digest in line and "another tracking" in line
    assert "not recorded" in fitted_on(str(old), digest)
