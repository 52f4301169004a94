"""`reenact prepare` on real clips and stills: the documented cache, read back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from reenact.cli.main import main
from reenact.config import load_config
from reenact.errors import InputError
from reenact_lab.metrics.image import psnr
from reenact_lab.train.cache import read_cache
from reenact_lab.train.prepare import prepare

STILLS = ("01_normal.png", "01_happy.png", "02_normal.png", "02_surprised.png")


@pytest.fixture(scope="module")
def inputs(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    stills = tmp_path_factory.mktemp("inputs") / "stills"
    stills.mkdir()
    for name in STILLS:
        os.symlink(media_dir / "expressions" / name, stills / name)
    clips = media_dir / "clips"
    return [str(clips / "lp_d1.mp4"), str(clips / "lp_d2.mp4"), str(stills)]


@pytest.fixture(scope="module")
def mp4_cache(inputs: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cache") / "prepared"
    code = main(
        ["prepare", *inputs, "--out", str(out), "--size", "128", "--set", "train.progress=false"]
    )
    assert code == 0
    return out


def test_cache_holds_the_documented_files(mp4_cache: Path):
    index = json.loads((mp4_cache / "index.json").read_text())
    assert index["format_version"] == 1 and index["size"] == 128
    names = [e["name"] for e in index["entries"]]
    assert names == ["lp_d1", "lp_d2", "stills_01", "stills_02"]
    for name in names:
        assert (mp4_cache / f"{name}.npz").is_file() and (mp4_cache / f"{name}.mp4").is_file()
    with np.load(mp4_cache / "lp_d1.npz", allow_pickle=False) as data:  # no pickle anywhere
        assert data["landmarks"].shape == (16, 478, 3) and data["landmarks"].dtype == np.float32
        assert data["valid"].shape == (16,) and data["alignment"].shape == (16, 2, 3)
        assert str(data["identity"]) == "lp_d1" and float(data["fps"]) > 0


def test_cache_reads_back_with_counts_shapes_and_labels(mp4_cache: Path):
    entries = {e.name: e for e in read_cache(mp4_cache)}
    clip = entries["lp_d1"]
    assert clip.kind == "clip" and clip.num_frames == 16 and clip.valid.all()
    crops = clip.load_crops()
    assert crops.shape == (16, 128, 128, 3) and crops.dtype == np.uint8
    assert 0 <= clip.reference < 16
    eyes = clip.landmarks[:, [33, 133, 362, 263], :2].reshape(16, 2, 2, 2).mean(axis=2)
    assert np.allclose(eyes[:, 0], [0.375 * 128, 0.39 * 128], atol=0.5)  # aligned crops
    stills = entries["stills_02"]
    assert stills.kind == "images" and stills.num_frames == 2
    assert sorted(stills.expression.tolist()) == ["neutral", "surprised"]
    assert stills.expression[stills.reference] == "neutral"
    assert stills.load_crops().shape == (2, 128, 128, 3)


def test_npz_format_matches_mp4_crops_and_reuses_tracking(inputs, mp4_cache, tmp_path):
    config = load_config(None, ["renderer.size=128"])
    entries = prepare(inputs[:1], config, out_dir=tmp_path, crops_format="npz", progress=False)
    npz_crops = entries[0].load_crops()
    mp4 = {e.name: e for e in read_cache(mp4_cache)}["lp_d1"]
    assert np.array_equal(entries[0].landmarks, mp4.landmarks)
    assert psnr(npz_crops[3], mp4.load_crops()[3]) > 35.0  # H.264 at crf 17, 4:4:4
    assert not (tmp_path / "lp_d1.mp4").exists()
    stamp = (tmp_path / "lp_d1.npz").stat().st_mtime_ns
    again = prepare(inputs[:1], config, out_dir=tmp_path, crops_format="npz", progress=False)
    assert (tmp_path / "lp_d1.npz").stat().st_mtime_ns == stamp  # reused, not re-tracked
    assert np.array_equal(again[0].landmarks, entries[0].landmarks)


def test_folder_without_faces_is_a_one_line_error(media_dir: Path, tmp_path: Path, capsys):
    animals = tmp_path / "animals"
    animals.mkdir()
    for name in ("lp_s41.jpg", "lp_s33.jpg"):  # a cat and a dog
        os.symlink(media_dir / "portraits" / name, animals / name)
    config = load_config(None, ["renderer.size=64"])
    with pytest.raises(InputError) as err:
        prepare([str(animals)], config, out_dir=tmp_path / "cache", progress=False)
    message = str(err.value)
    assert str(animals) in message and "no faces" in message and "\n" not in message
    code = main(
        [
            "prepare",
            str(animals),
            "--out",
            str(tmp_path / "c2"),
            "--size",
            "64",
            "--set",
            "train.progress=false",
        ]
    )
    assert code != 0
    assert str(animals) in capsys.readouterr().err


def test_truncated_cache_file_names_the_file(mp4_cache: Path, tmp_path: Path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(mp4_cache, copy)
    data = (copy / "lp_d2.npz").read_bytes()
    (copy / "lp_d2.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        read_cache(copy)
    assert "lp_d2.npz" in str(err.value) and "\n" not in str(err.value)


def test_ck_style_frame_sequence_is_prepared_like_a_clip(media_dir: Path, tmp_path: Path):
    import av
    import cv2

    sequence = tmp_path / "ck" / "S042" / "003"
    sequence.mkdir(parents=True)
    with av.open(str(media_dir / "clips" / "lp_d2.mp4")) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == 6:
                break
            bgr = frame.to_ndarray(format="bgr24")
            cv2.imwrite(str(sequence / f"S042_003_{i + 1:08d}.png"), bgr)
    config = load_config(None, ["renderer.size=64", "train.frame_stride=2"])
    (entry,) = prepare([str(tmp_path / "ck")], config, out_dir=tmp_path / "cache", progress=False)
    assert (entry.identity, entry.kind, entry.num_frames) == ("ck_S042", "frames", 3)
    assert entry.valid.all() and entry.frame_names.tolist() == [
        "S042_003_00000001.png",
        "S042_003_00000003.png",
        "S042_003_00000005.png",
    ]
    assert entry.frame_index.tolist() == [0, 2, 4]  # numbers in the sequence, before the stride
    assert entry.load_crops().shape == (3, 64, 64, 3)
