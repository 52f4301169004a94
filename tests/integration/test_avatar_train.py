"""`reenact avatar train` end to end: real clips, the real MediaPipe tracker, a real fine-tune.

Clips are cut short (PyAV) so the whole file runs in well under a minute on two cores.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from reenact.avatar import read_avatar
from reenact.cli.main import main
from reenact_lab.train.avatar_data import read_prepared
from reenact.video import read_frames
from tests.helpers import write_clip

pytest.importorskip("torch")


def _cut(source: Path, out: Path, frames: int) -> Path:
    """The first `frames` frames of `source` as a new H.264 clip at 30 fps."""
    return write_clip(out, list(read_frames(source, frames)), fps=30)


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory, clips_dir: Path) -> Path:
    """4 s of one person talking (120 frames: 40 tracked, the last 8 held out)."""
    folder = tmp_path_factory.mktemp("avatar-clip")
    return _cut(clips_dir / "styletalk_obama_clip3.mp4", folder / "person.mp4", 120)


def test_short_clip_trains_and_writes_an_avatar(short_clip: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "person.avatar"
    prepared = tmp_path / "prepared"
    assert main(["avatar", "train", str(short_clip), "--prepare-only", str(prepared), "-q"]) == 0
    data = read_prepared(prepared)
    assert len(data.clips) == 1 and data.clips[0].crops.shape[1:] == (256, 256, 3)
    train, val = data.clips[0].split()
    assert (
        len(train) > len(val) > 0
        and data.clips[0].frame_index[val].min() > data.clips[0].frame_index[train].max()
    )  # validation is the clip's tail, by time
    code = main(
        [
            "avatar",
            "train",
            "--from-prepared",
            str(prepared),
            "--out",
            str(out),
            "--minutes",
            "2",
            "--max-steps",
            "2",
            "--batch-size",
            "2",
            "-q",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "2 steps" in printed and "personal" in printed
    avatar = read_avatar(out)
    manifest = avatar.manifest
    assert manifest["steps"] == 2 and manifest["crop_size"] == 256
    assert manifest["source_clips"][0]["name"] == "person"
    assert len(manifest["source_clips"][0]["sha256"]) == 64
    assert manifest["frames_train"] == len(train) and manifest["frames_val"] == len(val)
    for row in ("warp", "shipped", "personal"):
        assert 0.3 < manifest["validation"][row]["ssim"] <= 1.0
    # the best validated weights are kept: never worse than the shipped generator's start
    assert manifest["validation"]["personal"]["ssim"] >= manifest["validation"]["shipped"]["ssim"]
    # a step that beat the shipped generator is averaged with it; the fine-tune's own score kept
    assert manifest["wise_alpha"] == 0.5
    assert bool(manifest["validation_fine_tuned"]) == (manifest["best_step"] > 0)
    assert avatar.neutral is not None and avatar.neutral.shape == (478, 3)
    assert avatar.picture.shape == (256, 256, 3)
    assert all(v.dtype != np.float32 for v in avatar.generator_weights.values())
    assert avatar.generator_int8 is not None  # run where the shipped generator runs INT8
    # the person's own mouths and eyes, from the training frames only: the tail stays unseen
    crops, points = avatar.face_bank
    assert min(48, len(train)) <= len(crops) == len(points) == manifest["face_bank_frames"]
    assert len(crops) <= min(72, len(train))
    assert f"kept {len(crops)} frames of the person's mouths and eyes" in printed
    rows = data.clips[0].landmarks
    assert all(np.abs(rows[train] - p).max(axis=(1, 2)).min() < 1e-3 for p in points)
    assert all(np.abs(rows[val] - p).max(axis=(1, 2)).min() > 1e-3 for p in points)


def test_two_people_are_refused(tmp_path: Path, clips_dir: Path, capsys) -> None:
    clip = _cut(clips_dir / "sberswap_2person.mp4", tmp_path / "two.mp4", 60)
    code = main(["avatar", "train", str(clip), "--out", str(tmp_path / "x.avatar"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1
    assert "two faces" in err[0] and "two.mp4" in err[0]
    assert not (tmp_path / "x.avatar").exists()


def test_a_video_without_a_face_is_refused(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    frames = [
        np.full((240, 320, 3), 90, np.uint8) + rng.integers(0, 20, (240, 320, 3), dtype=np.uint8)
        for _ in range(45)
    ]
    clip = write_clip(tmp_path / "wall.mp4", frames)
    code = main(["avatar", "train", str(clip), "--out", str(tmp_path / "x.avatar"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1
    assert "a usable face in only 0 of" in err[0]
    assert "wall.mp4" in err[0]


def test_without_torch_the_extra_is_named(
    monkeypatch, short_clip: Path, tmp_path: Path, capsys
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ModuleNotFoundError
    code = main(["avatar", "train", str(short_clip), "--out", str(tmp_path / "x.avatar")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "pip install 'reenact[train]'" in err and len(err.splitlines()) == 1


def test_a_still_picture_is_refused_before_any_tracking(
    tmp_path: Path, portraits_dir: Path, short_clip: Path, capsys
) -> None:
    picture = sorted(portraits_dir.glob("*.jpg"))[0]
    code = main(
        ["avatar", "train", str(short_clip), str(picture), "--out", str(tmp_path / "x.avatar")]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "a still picture" in err[0] and picture.name in err[0]
