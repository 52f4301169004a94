"""Keys that moved out of `stream` (`reenact.config.renamed`): each old key still loads from a
preset, `--set`, the user config and `POST /settings`, sets its new key, and warns once naming
both; the new key wins where both are given; the table names only real keys."""

from __future__ import annotations

import logging

import pytest

from reenact.config import Config, load_config
from reenact.config.renamed import RENAMED
from reenact.errors import ConfigError
from reenact.stream.live_settings import parse_settings
from reenact.stream.saved_settings import save_settings, saved_for_run, settings_path


def _value(config: Config, dotted: str):
    section, key = dotted.split(".")
    return getattr(getattr(config, section), key)


def test_every_new_key_exists_and_no_old_key_does():
    config = Config()
    for old, new in RENAMED.items():
        _value(config, new)  # raises AttributeError for a key that is not there
        with pytest.raises(AttributeError):
            _value(config, old)


def test_an_old_key_in_a_preset_sets_the_new_one_and_says_so(tmp_path, caplog):
    preset = tmp_path / "mine.yaml"
    preset.write_text("stream:\n  head_motion: rotate\n  gaze_gain: 2.0\n  intensity: 0.7\n")
    with caplog.at_level(logging.WARNING, logger="reenact.config"):
        config = load_config(preset)
    assert config.head.motion == "rotate" and config.eyes.gaze_gain == 2.0
    assert config.stream.intensity == 0.7  # a key that did not move is read as before
    said = [r.getMessage() for r in caplog.records]
    assert f"{preset}: stream.head_motion is now head.motion (the old key goes in 0.2.0)" in said
    assert len(said) == 2, said


def test_an_old_key_on_the_command_line_is_checked_as_its_new_key(caplog):
    with caplog.at_level(logging.WARNING, logger="reenact.config"):
        config = load_config(None, ["stream.control_port=9000", "stream.hotkeys=true"])
    assert config.panel.port == 9000 and config.hotkeys.enabled is True
    assert any("stream.control_port is now panel.port" in r.getMessage() for r in caplog.records)
    with pytest.raises(ConfigError, match="panel.port"):
        load_config(None, ["stream.control_port=70000"])  # out of range, named by its new key


def test_the_new_key_wins_over_the_old_one_in_the_user_config(user_config_dir, caplog):
    settings_path().write_text(
        "stream:\n  gaze_gain: 0.5\n  gaze: false\neyes:\n  gaze_gain: 2.0\n"
    )
    with caplog.at_level(logging.WARNING, logger="reenact"):
        values, _ = saved_for_run(set())
    assert values == {"eyes.gaze_gain": 2.0, "eyes.gaze": False}
    save_settings({"eyes.lid_follow": 0.3})  # the panel writes new keys only
    assert "lid_follow" in settings_path().read_text().split("eyes:")[1]


def test_post_settings_takes_an_old_key_as_its_new_one(caplog):
    with caplog.at_level(logging.WARNING, logger="reenact.config"):
        parsed = parse_settings({"stream.head_motion": "off", "eyes.gaze_gain": 1.2})
    assert parsed == {"head.motion": "off", "eyes.gaze_gain": 1.2}
    with pytest.raises(ValueError, match="not a live setting"):
        parse_settings({"stream.no_such_key": 1})
