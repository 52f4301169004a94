"""Settings changed on the panel are there after a restart (issue 90, build 3): `POST /settings`
keeps them in `<config dir>/panel.yaml`; the next `reenact live` applies them, says so in one
line, and lets the command line (`--set`, flags, a preset named with -c) win.
"""

from __future__ import annotations

import pytest
import yaml

from reenact.cli.common import config_from_args
from reenact.cli.main import build_parser
from reenact.errors import ConfigError
from reenact.stream.saved_settings import save_settings
from tests.panel_session import LiveSession


def settings_of(live: LiveSession) -> dict:
    code, body, _ = live.call("GET", "/settings")
    assert code == 200, body
    return {row["key"]: row["value"] for row in body["settings"]}


def test_settings_changed_on_the_panel_are_there_after_a_restart(tmp_path, user_config_dir,
                                                                 clips_dir):
    clip = clips_dir / "lp_d0.mp4"
    first = LiveSession(clip, tmp_path / "first")
    try:
        changed = {"stream.intensity": 0.4, "smoothing.enabled": False,
                   "stream.gaze_gain": 0.5, "paused": True}
        code, body, _ = first.call("POST", "/settings", changed)
        assert code == 200, body
        assert "panel settings kept" not in first.stderr  # nothing kept before
    finally:
        first.close()
    kept = yaml.safe_load((user_config_dir / "panel.yaml").read_text())
    assert kept == {"smoothing": {"enabled": False},
                    "stream": {"gaze_gain": 0.5, "intensity": 0.4}}  # pausing is not kept
    second = LiveSession(clip, tmp_path / "second", extra=["--set", "stream.gaze_gain=2.0"])
    try:
        now = settings_of(second)
    finally:
        second.close()
    assert now["stream.intensity"] == 0.4 and now["smoothing.enabled"] is False
    assert now["stream.gaze_gain"] == 2.0 and now["paused"] is False  # --set wins
    said = [line for line in second.stderr.splitlines() if "panel settings kept" in line]
    assert said == [f"reenact: panel settings kept from the last run "
                    f"({user_config_dir / 'panel.yaml'}): smoothing.enabled=false, "
                    f"stream.intensity=0.4; the command line's own value for stream.gaze_gain"]


def test_a_named_preset_wins_over_kept_settings_and_the_default_one_does_not(tmp_path,
                                                                             capsys):
    save_settings({"smoothing.enabled": False, "stream.intensity": 0.4})
    parser = build_parser()
    default = config_from_args(parser.parse_args(["live"]), kept_settings=True)
    # configs/live.yaml turns smoothing on, but the user turned it off on the panel
    assert default.smoothing.enabled is False and default.stream.intensity == 0.4
    preset = tmp_path / "show.yaml"
    preset.write_text("stream:\n  intensity: 0.9\n")
    named = config_from_args(parser.parse_args(["live", "-c", str(preset)]), kept_settings=True)
    assert named.stream.intensity == 0.9 and named.smoothing.enabled is False
    flag = config_from_args(parser.parse_args(["live", "--intensity", "0.7"]), kept_settings=True)
    assert flag.stream.intensity == 0.7
    assert config_from_args(parser.parse_args(["live"])).stream.intensity == 1.0  # run, demo
    assert "the command line's own value for stream.intensity" in capsys.readouterr().err


def test_a_damaged_kept_settings_file_is_one_line_naming_it(user_config_dir):
    kept = user_config_dir / "panel.yaml"
    kept.write_text("stream:\n  intensity: 7\n  retired_setting: 1\n")
    args = build_parser().parse_args(["live"])
    with pytest.raises(ConfigError, match=r"panel\.yaml: stream\.intensity: 7 is outside "
                                          r".*delete the file to start afresh\)$"):
        config_from_args(args, kept_settings=True)
    kept.write_text("stream: [1, 2\n")
    with pytest.raises(ConfigError, match=r"panel\.yaml: line \d+: invalid YAML"):
        config_from_args(args, kept_settings=True)
    kept.write_text("stream:\n  retired_setting: 1\n  intensity: 0.3\n")  # an older version's
    assert config_from_args(args, kept_settings=True).stream.intensity == 0.3
