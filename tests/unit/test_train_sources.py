"""Finding training inputs in the folder layouts of Yale, RaFD, CK+, MUG and plain clip folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reenact.errors import InputError
from reenact_lab.train.sources import discover, label_of


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src, dst)


def test_yale_style_flat_folder_groups_by_subject(media_dir: Path):
    items = discover([str(media_dir / "expressions")])
    assert len(items) == 15
    first = items[0]
    assert (first.name, first.identity) == ("expressions_01", "expressions_01")
    assert first.kind == "images"
    by_file = {p.stem: (lab, var) for p, lab, var in zip(first.paths, first.labels, first.variants)}
    assert by_file["01_happy"] == ("happy", "")
    assert by_file["01_normal"] == ("neutral", "")  # "normal" is the neutral expression
    assert by_file["01_glasses"] == ("", "glasses")  # a condition, not an expression
    assert by_file["01_leftlight"] == ("", "leftlight")


def test_rafd_ck_mug_and_clip_layouts(tmp_path: Path, media_dir: Path):
    still = media_dir / "portraits" / "lp_s42.jpg"
    clip = media_dir / "clips" / "lp_d1.mp4"
    _link(still, tmp_path / "rafd" / "Rafd090_07_Caucasian_male_happy_frontal.jpg")
    _link(still, tmp_path / "rafd" / "Rafd090_07_Caucasian_male_neutral_frontal.jpg")
    _link(still, tmp_path / "bysubject" / "S1" / "surprise.jpg")
    _link(still, tmp_path / "bysubject" / "S1" / "neutral.jpg")
    for i in (1, 2, 10):
        _link(still, tmp_path / "ck" / "S005" / "001" / f"S005_001_{i:08d}.png")
        _link(still, tmp_path / "mug" / "001" / "happiness" / "take000" / f"img_{i:04d}.jpg")
    _link(clip, tmp_path / "clips" / "actor7" / "take.mp4")

    (rafd,) = discover([str(tmp_path / "rafd")])
    assert rafd.identity == "rafd_07" and rafd.kind == "images"
    assert sorted(rafd.labels) == ["happy", "neutral"]
    (subject,) = discover([str(tmp_path / "bysubject")])
    assert subject.identity == "bysubject_S1" and subject.kind == "images"
    assert sorted(subject.labels) == ["neutral", "surprised"]
    (ck,) = discover([str(tmp_path / "ck")])
    assert (ck.identity, ck.kind) == ("ck_S005", "frames")
    assert [p.name for p in ck.paths] == [f"S005_001_{i:08d}.png" for i in (1, 2, 10)]  # natural
    (mug,) = discover([str(tmp_path / "mug")])
    assert (mug.identity, mug.kind, set(mug.labels)) == ("mug_001", "frames", {"happy"})
    (nested,) = discover([str(tmp_path / "clips")])
    assert (nested.identity, nested.kind) == ("actor7", "clip")
    (single,) = discover([str(clip)])
    assert (single.name, single.identity, single.origin) == ("lp_d1", "lp_d1", clip)


def test_names_are_unique_across_inputs(media_dir: Path):
    clip = str(media_dir / "clips" / "lp_d1.mp4")
    names = [item.name for item in discover([clip, clip])]
    assert names == ["lp_d1", "lp_d1_2"]


def test_empty_or_missing_inputs_are_one_line_errors(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no faces here")
    with pytest.raises(InputError) as err:
        discover([str(tmp_path / "empty")])
    assert str(tmp_path / "empty") in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(InputError, match="no such file"):
        discover([str(tmp_path / "missing")])
    with pytest.raises(InputError, match="no training data"):
        discover([])


def test_label_words_and_synonyms():
    assert label_of(["S005", "happiness"]) == ("happy", "")
    assert label_of(["anger"]) == ("angry", "")
    assert label_of(["noglasses"]) == ("", "noglasses")
    assert label_of(["take000"]) == ("", "")
