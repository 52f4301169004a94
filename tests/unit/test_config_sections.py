"""The lab's config sections: `train` and `eval` are the lab's own (`reenact_lab.config`), joined
through the `reenact.config_sections` entry points; the runtime's schema has neither, and a
runtime without the lab still reads a preset that has them, with one warning line."""

from __future__ import annotations

import copy
import dataclasses
import logging
import pickle

import pytest
import yaml

from reenact.config import Config, config_to_dict, dump_config, load_config, replace
from reenact.config import sections
from reenact.config.load import CONFIG_DIR
from reenact.config.typed import field_types
from reenact.errors import ConfigError
from reenact_lab.config import EvalConfig, TrainConfig


@pytest.fixture
def without_lab(monkeypatch):
    """A runtime-only install as the loader sees it: no `reenact.config_sections` entry points."""
    real = sections.entry_points
    monkeypatch.setattr(
        sections, "entry_points", lambda group: {} if group == sections.GROUP else real(group)
    )
    sections.section_classes.cache_clear()
    yield
    sections.section_classes.cache_clear()


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_the_runtime_schema_has_no_lab_section():
    own = field_types(Config)
    assert "train" not in own and "eval" not in own and "added_sections" not in own
    assert {"stream", "renderer", "pixel_rr"} <= set(own)  # pixel_rr is read at run time
    live = config_to_dict(load_config("live"))
    assert "train" not in live and "eval" not in live and "added_sections" not in live


def test_live_writes_no_lab_keys_in_its_effective_config(tmp_path):
    """What a live session writes beside its outputs (`stream.session.write_run_files`)."""
    written = yaml.safe_load(dump_config(load_config("live"), tmp_path / "c.yaml").read_text())
    assert not {"train", "eval"} & set(written)
    assert "renderer" in written and "pixel_rr" in written


def test_with_the_lab_its_sections_are_typed_by_its_classes():
    config = load_config("train_fusion")
    assert type(config.train) is TrainConfig and config.train.val_holdout
    assert config.eval == EvalConfig()  # not named by the preset: the lab's defaults
    data = config_to_dict(config)
    assert data["train"]["steps"] == config.train.steps and "eval" not in data
    assert Config().train == TrainConfig()
    evaluation = load_config("eval")
    assert type(evaluation.eval) is EvalConfig and "train" not in config_to_dict(evaluation)


@pytest.mark.parametrize("preset", sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
def test_every_shipped_preset_round_trips_with_its_lab_sections(preset, tmp_path):
    config = load_config(preset)
    assert load_config(dump_config(config, tmp_path / "c.yaml")) == config


def test_a_typo_in_a_lab_section_is_an_error_naming_key_and_file(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("train:\n  stepz: 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and "unknown key 'train.stepz'" in message
    assert "steps" in message and "\n" not in message
    with pytest.raises(ConfigError, match=r"train: expected a mapping, got int"):
        load_config(None, ["train=5"])
    with pytest.raises(ConfigError, match=r"eval\.max_frames: expected int"):
        load_config(None, ["eval.max_frames=many"])
    with pytest.raises(ConfigError, match=r"unknown key 'trian' \(valid keys here: .*train"):
        load_config(None, ["trian.steps=3"])


def test_replace_changes_a_lab_section_and_keeps_the_rest():
    config = load_config("train_fusion", ["renderer.size=512"])
    changed = replace(config, train={"steps": 7}, eval={"max_frames": 3})
    assert (changed.train.steps, changed.eval.max_frames) == (7, 3)
    assert changed.train.data == config.train.data and changed.renderer.size == 512
    with pytest.raises(ConfigError, match="train.steps"):
        replace(config, train={"steps": -1})


def test_a_config_with_lab_sections_pickles_and_copies():
    """Worker processes get the config pickled; unpickling asks for dunders before the fields
    exist, which the added sections' attribute lookup must not answer."""
    config = load_config("train_fusion")
    for copied in (pickle.loads(pickle.dumps(config)), copy.deepcopy(config)):
        assert copied == config and copied.train == config.train


def test_without_the_lab_a_train_section_loads_with_one_warning(without_lab, caplog):
    preset = CONFIG_DIR / "train_fusion.yaml"
    with caplog.at_level(logging.WARNING):
        config = load_config(preset, ["train.steps=5"])
    (line,) = _warnings(caplog)
    assert str(preset) in line and "'train'" in line and "pip install 'reenact[train]'" in line
    assert "\n" not in line
    assert isinstance(config, Config) and "added_sections" not in config_to_dict(config)
    with pytest.raises(AttributeError, match=r"pip install 'reenact\[train\]'"):
        _ = config.train
    assert "train" not in config_to_dict(config)


def test_without_the_lab_both_sections_make_one_line(without_lab, caplog, tmp_path):
    path = tmp_path / "both.yaml"
    path.write_text("renderer:\n  size: 512\ntrain:\n  steps: 3\neval:\n  clips: [a.mp4]\n")
    with caplog.at_level(logging.WARNING):
        assert load_config(path).renderer.size == 512
    (line,) = _warnings(caplog)
    assert "'train' and 'eval'" in line and "reenact[eval]" in line


def test_without_the_lab_other_keys_are_still_checked(without_lab, tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("train:\n  steps: 3\nrenderer:\n  sise: 512\n")
    with pytest.raises(ConfigError, match=r"typo\.yaml.*unknown key 'renderer\.sise'"):
        load_config(path)
    with pytest.raises(ConfigError, match="unknown key 'trian'"):
        load_config(None, ["trian.steps=3"])
    assert load_config(None, ["renderer.size=512"]).renderer.size == 512  # no section: no line


def test_the_lab_sections_are_declared_by_the_lab():
    """The entry points the loader reads are the lab's, and name the classes it uses."""
    assert sections.section_classes() == {"eval": EvalConfig, "train": TrainConfig}
    assert set(sections.LAB_SECTIONS) == {"train", "eval"}
    assert not [f for f in dataclasses.fields(Config) if f.name in sections.LAB_SECTIONS]
