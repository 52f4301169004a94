"""The fusion jobs' splits (`configs/splits/fusion.yaml`) and the data-set layout table
(`configs/datasets/layouts.yaml`) give exactly what the constants they replaced gave: the same
people held out, grouped and tested, the same subjects and labels parsed from real file names."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from reenact.errors import ConfigError, InputError
from reenact_lab.train.fusion_data import load_people
from reenact_lab.train.landmark_cache import _save_npz, track_stills
from reenact_lab.train.sources import (
    discover,
    label_of,
    layout_of,
    neutral_variants,
    read_layouts,
    safe_name,
)
from reenact_lab.train.splits import read_splits

REPO = Path(__file__).resolve().parents[2]

# The constants as they stood in reenact-lab/reenact_lab/train/ before they moved to configs/ (frozen here).
OLD_HELD_OUT = (
    "lp_d9",
    "lp_d13",
    "hdtf_aoc",
    "pcavs_00010",
    "yale_14",
    "yale_15",
    "lp_d19",
    "lp_d8",
    "pcavs_00098",
)
OLD_VALIDATION = ("yale_12", "yale_13", "pcavs_00098", "lp_d8")
OLD_VALIDATION_CLIPS = ("lp_d8", "pcavs_00098")
OLD_TEST = ("lp_d9", "lp_d13", "hdtf_aoc", "pcavs_00010", "yale_14", "yale_15")
OLD_SELF_CLIPS = ("lp_d9", "lp_d12", "lp_d13", "hdtf_aoc", "pcavs_00010")
OLD_VALIDATE_PEOPLE = ("lp_d9", "lp_d13", "hdtf_aoc", "pcavs_00010", "yale_14", "yale_15")
OLD_IDENTITY_GROUPS = {
    "obama": (
        "styletalk_obama_clip1",
        "styletalk_obama_clip2",
        "styletalk_obama_clip3",
        "sberswap_obama",
    ),
    "andrew_ng": ("styletalk_andrew_clip_1", "styletalk_andrew_clip_2"),
    "feifei_li": (
        "styletalk_feifeili_clip1",
        "styletalk_feifeili_clip2_short",
        "styletalk_feifeili_clip3",
    ),
    "rdj": ("pcavs_741400104", "pcavs_741400163"),
    "lp_d9": ("lp_d9", "lp_d12"),
}
OLD_SYNONYMS = {
    "neutral": "neutral",
    "normal": "neutral",
    "happy": "happy",
    "happiness": "happy",
    "smile": "happy",
    "sad": "sad",
    "sadness": "sad",
    "surprised": "surprised",
    "surprise": "surprised",
    "angry": "angry",
    "anger": "angry",
    "disgusted": "disgusted",
    "disgust": "disgusted",
    "fearful": "fearful",
    "fear": "fearful",
    "contemptuous": "contemptuous",
    "contempt": "contemptuous",
    "sleepy": "sleepy",
    "wink": "wink",
}
OLD_VARIANTS = {"glasses", "noglasses", "leftlight", "rightlight", "centerlight"}
OLD_NEUTRAL_VARIANTS = {"noglasses", "centerlight"}
_SPLIT = re.compile(r"[_\-\s.]+")


def _old_words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text) if w]


def _old_subject(stem: str) -> str:
    words = _old_words(stem)
    if len(words) > 1 and words[0].lower().startswith("rafd"):
        return words[1]
    return words[0] if words else stem


def _old_label(words: list[str]) -> tuple[str, str]:
    lowered = [w.lower() for w in words]
    for word in lowered:
        if word in OLD_SYNONYMS:
            return OLD_SYNONYMS[word], ""
    for word in lowered:
        if word in OLD_VARIANTS:
            return "", word
    return "", ""


def test_the_splits_are_the_old_constants():
    splits = read_splits()
    assert splits.held_out == OLD_HELD_OUT
    assert splits.validation == OLD_VALIDATION
    assert splits.validation_clips == OLD_VALIDATION_CLIPS
    assert splits.test == OLD_TEST == OLD_VALIDATE_PEOPLE
    assert splits.self_clips == OLD_SELF_CLIPS
    assert splits.identity_groups == OLD_IDENTITY_GROUPS
    # the prefix the shipped weights' trained_on and the presets name stills subjects with
    assert (splits.stills_prefix, splits.stills_entry) == ("yale_", "expressions")
    assert (splits.bench_clip, splits.bench_target) == ("lp_d13.mp4", "hdtf_aoc.mp4")
    assert splits.identity_of("lp_d12") == "lp_d9" and splits.identity_of("lp_d5") == "lp_d5"


def test_the_residual_preset_holds_out_the_same_people():
    from reenact.config.reader import read_config_file

    train = read_config_file(REPO / "configs" / "train_fusion_residual.yaml")["train"]
    splits = read_splits()
    assert tuple(train["val_holdout"]) == splits.validation
    assert tuple(train["fusion_test_holdout"]) == splits.test


def test_every_split_name_is_in_the_shared_media(media_dir: Path):
    splits = read_splits()
    clips = {p.stem for p in (media_dir / "clips").iterdir()}
    subjects = {
        splits.stills_prefix + p.stem.split("_")[0]
        for p in (media_dir / splits.stills_entry).glob("*.png")
    }
    people = clips | subjects | set(splits.identity_groups)
    for name in (*splits.held_out, *splits.validation, *splits.test):
        assert name in people, name
    for name in (
        *splits.validation_clips,
        *splits.self_clips,
        *(c for group in splits.identity_groups.values() for c in group),
    ):
        assert name in clips, name
    assert {splits.bench_clip, splits.bench_target} <= {
        p.name for p in (media_dir / "clips").iterdir()
    }


@pytest.fixture(scope="module")
def stills_landmarks(media_dir: Path) -> dict[str, np.ndarray]:
    """Real tracked landmarks of subjects 01 and 02's stills (the real MediaPipe mesh)."""
    paths = sorted(
        p
        for s in ("01", "02")
        for c in ("normal", "happy", "sad")
        for p in [media_dir / "expressions" / f"{s}_{c}.png"]
    )
    return track_stills(paths)


def _cache(folder: Path, stills: dict[str, np.ndarray], entry: str) -> Path:
    """A landmark cache: the stills under `entry`, and clips lp_d9, lp_d12, lp_d5 made of those
    faces (24 frames each, slightly moved so that each frame differs)."""
    folder.mkdir()
    _save_npz(folder / f"{entry}.npz", **stills)
    faces = stills["landmarks"]
    rng = np.random.default_rng(0)
    for stem in ("lp_d9", "lp_d12", "lp_d5"):
        frames = np.concatenate([faces] * 4)
        frames = (frames + rng.normal(0, 0.3, frames.shape)).astype(np.float32)
        _save_npz(
            folder / f"{stem}.npz",
            landmarks=frames,
            frame_index=np.arange(len(frames)),
            names=np.asarray([""] * len(frames)),
        )
    return folder


def test_people_are_grouped_and_named_by_the_splits(tmp_path: Path, stills_landmarks):
    cache = _cache(tmp_path / "cache", stills_landmarks, "expressions")
    people = {p.name: p for p in load_people(cache)}
    assert set(people) == {"lp_d9", "lp_d5", "yale_01", "yale_02"}  # lp_d12 is lp_d9's
    assert len(people["lp_d9"].frames) == 2 * len(people["lp_d5"].frames)
    assert people["yale_01"].stills and not people["lp_d9"].stills
    assert sorted(people["yale_02"].labels) == ["happy", "normal", "sad"]
    # another splits file: another stills entry and prefix, no groups
    other = tmp_path / "splits.yaml"
    text = (REPO / "configs" / "splits" / "fusion.yaml").read_text()
    text = text.replace("stills_prefix: yale_", "stills_prefix: subject_")
    text = text.replace("stills_entry: expressions", "stills_entry: faces")
    other.write_text(re.sub(r"  lp_d9: \[lp_d9, lp_d12\].*\n", "", text))
    cache2 = _cache(tmp_path / "cache2", stills_landmarks, "faces")
    names = {p.name for p in load_people(cache2, splits=read_splits(other))}
    assert names == {"lp_d9", "lp_d12", "lp_d5", "subject_01", "subject_02"}


def test_a_malformed_splits_file_is_one_line_naming_it(tmp_path: Path):
    text = (REPO / "configs" / "splits" / "fusion.yaml").read_text()
    for broken, key in (
        (text.replace("test: [", "test: 3 #["), "test"),
        (re.sub(r"\nheld_out: .*", "", text), "held_out"),
        (text.replace("  target: hdtf_aoc.mp4", "  target: [1]"), "bench.target"),
        (text + "\nextra: 1\n", "extra"),
    ):
        path = tmp_path / f"{key}.yaml"
        path.write_text(broken)
        with pytest.raises(ConfigError) as err:
            read_splits(path)
        assert str(path) in str(err.value) and key in str(err.value)
        assert "\n" not in str(err.value)


def test_a_bad_splits_file_exits_2_with_one_line(tmp_path: Path, capsys):
    from reenact_lab.train import fusion_validate, neutral_basis

    path = tmp_path / "splits.yaml"
    path.write_text("stills_prefix: [1]\n")
    runs = (
        (neutral_basis.main, ["--out", str(tmp_path / "basis.safetensors")]),
        (fusion_validate.main, []),
    )
    for main, extra in runs:
        assert main(["--cache", str(tmp_path), "--splits", str(path), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and str(path) in err and "\n" not in err


def test_the_layout_table_reads_the_old_words():
    merged = layout_of()
    assert merged.words == OLD_SYNONYMS
    assert merged.variants == OLD_VARIANTS
    assert neutral_variants() == OLD_NEUTRAL_VARIANTS
    for words in (
        ["S005", "happiness"],
        ["anger"],
        ["noglasses"],
        ["take000"],
        ["Normal"],
        ["x", "glasses", "smile"],
        ["centerlight"],
        [],
    ):
        assert label_of(words) == _old_label(words), words


TRICKY_STEMS = (
    "Rafd090_07_Caucasian_male_happy_frontal",
    "rafd_x",
    "RAFDabc-12-sad",
    "Rafd090",
    "_01_happy",
    "rafd..07",
    "a b",
    "x",
    "RafD 3",
    "rafd__",
    "notrafd_1_happy",
    "Rafd090_07-Caucasian",
    "2_rafd_happy",
)


def test_flat_stills_are_grouped_and_labelled_as_before(tmp_path: Path, media_dir: Path):
    """Every still and portrait of the shared media, and file names of the other layouts' shapes,
    in one flat folder: the same subject groups and the same labels as the old rules gave."""
    folder = tmp_path / "flat"
    folder.mkdir()
    still = media_dir / "portraits" / "lp_s42.jpg"
    sources = [
        *sorted((media_dir / "expressions").glob("*.png")),
        *sorted((media_dir / "portraits").iterdir()),
    ]
    for path in sources:
        os.symlink(path, folder / path.name)
    for stem in TRICKY_STEMS:
        os.symlink(still, folder / f"{stem}.jpg")
    items = discover([str(folder)])
    expected: dict[str, dict[str, tuple[str, str]]] = {}
    for path in sorted(folder.iterdir()):
        expected.setdefault(_old_subject(path.stem), {})[path.name] = _old_label(
            _old_words(path.stem)
        )
    got = {
        item.identity: {
            p.name: (lab, var) for p, lab, var in zip(item.paths, item.labels, item.variants)
        }
        for item in items
    }
    assert got == {safe_name(f"flat_{s}"): v for s, v in expected.items()}
    assert len(items) >= 20  # 15 stills subjects, the portraits, the odd names


def test_a_layout_key_chooses_one_naming(tmp_path: Path, media_dir: Path):
    still = media_dir / "portraits" / "lp_s42.jpg"
    folder = tmp_path / "faces"
    folder.mkdir()
    for name in ("Rafd090_07_Caucasian_male_happy_frontal.jpg", "Rafd090_08_x_sleepy_frontal.jpg"):
        os.symlink(still, folder / name)
    assert [i.identity for i in discover([str(folder)])] == ["faces_07", "faces_08"]
    (rafd,) = [i for i in discover([str(folder)], layout="rafd") if i.identity == "faces_07"]
    assert rafd.labels == ("happy",)
    # one layout's words only: "sleepy" is a word of another layout
    assert discover([str(folder)], layout="rafd")[1].labels == ("",)
    (yale,) = discover([str(folder)], layout="yale")  # its subject is the first field
    assert yale.identity == "faces_Rafd090" and yale.labels == ("happy", "sleepy")
    with pytest.raises(InputError, match="unknown data layout 'nope'.*rafd"):
        discover([str(folder)], layout="nope")


def test_a_malformed_layout_table_is_one_line_naming_it(tmp_path: Path):
    cases = {
        "subject": "layouts:\n  a:\n    subject: '(?P<who>x)'\n",
        "labels.happy": "layouts:\n  a:\n    labels:\n      happy: smile\n",
        "means": "layouts:\n  a:\n    labels: {happy: [grin]}\n  b:\n    labels: {sad: [grin]}\n",
        "neutral_variants": "layouts:\n  a:\n    variants: [x]\n    neutral_variants: [y]\n",
        "unknown key": "layouts:\n  a:\n    pattern: x\n",
        "layouts": "other: 1\n",
    }
    for expected, text in cases.items():
        path = tmp_path / "layouts.yaml"
        path.write_text(text)
        read_layouts.cache_clear()
        with pytest.raises(ConfigError) as err:
            read_layouts(path)
        message = str(err.value)
        assert str(path) in message and expected in message and "\n" not in message, message
    read_layouts.cache_clear()
