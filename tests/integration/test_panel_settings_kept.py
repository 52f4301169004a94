"""Settings changed on the panel are there after a restart (issue 90, build 3; issue 89, build 3):
`POST /settings` keeps them in the user config `<config dir>/reenact.yaml`, which the user may
edit too; the next `reenact live` (and `reenact run`) applies it, says so in one line, and lets
the command line (`--set`, flags, a preset named with -c) win.
"""

from __future__ import annotations

import logging

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


def test_settings_changed_on_the_panel_are_there_after_a_restart(
    tmp_path, user_config_dir, clips_dir
):
    clip = clips_dir / "lp_d0.mp4"
    first = LiveSession(clip, tmp_path / "first")
    try:
        changed = {
            "stream.intensity": 0.4,
            "smoothing.enabled": False,
            "eyes.gaze_gain": 0.5,
            "paused": True,
        }
        code, body, _ = first.call("POST", "/settings", changed)
        assert code == 200, body
        assert "settings from" not in first.stderr  # nothing kept before
    finally:
        first.close()
    kept = yaml.safe_load((user_config_dir / "reenact.yaml").read_text())
    assert kept == {
        "smoothing": {"enabled": False},
        "stream": {"intensity": 0.4},
        "eyes": {"gaze_gain": 0.5},
    }  # pausing is not kept
    second = LiveSession(clip, tmp_path / "second", extra=["--set", "eyes.gaze_gain=2.0"])
    try:
        now = settings_of(second)
    finally:
        second.close()
    assert now["stream.intensity"] == 0.4 and now["smoothing.enabled"] is False
    assert now["eyes.gaze_gain"] == 2.0 and now["paused"] is False  # --set wins
    said = [line for line in second.stderr.splitlines() if "settings from" in line]
    assert said == [
        f"reenact: settings from {user_config_dir / 'reenact.yaml'}: "
        f"stream.intensity=0.4, smoothing.enabled=false; the command line's own "
        f"value for eyes.gaze_gain"
    ]


def test_a_named_preset_wins_over_kept_settings_and_the_default_one_does_not(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="reenact")
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
    assert config_from_args(parser.parse_args(["live"])).stream.intensity == 1.0  # demo
    assert "the command line's own value for stream.intensity" in caplog.text


def test_a_damaged_kept_settings_file_is_one_line_naming_it(user_config_dir):
    kept = user_config_dir / "reenact.yaml"
    kept.write_text("stream:\n  intensity: 7\n  retired_setting: 1\n")
    args = build_parser().parse_args(["live"])
    with pytest.raises(
        ConfigError,
        match=r"reenact\.yaml: stream\.intensity: 7 is outside "
        r".*delete the file to start afresh\)$",
    ):
        config_from_args(args, kept_settings=True)
    kept.write_text("stream: [1, 2\n")
    with pytest.raises(ConfigError, match=r"reenact\.yaml: line \d+: invalid YAML"):
        config_from_args(args, kept_settings=True)
    kept.write_text("stream:\n  retired_setting: 1\n  intensity: 0.3\n")  # an older version's
    assert config_from_args(args, kept_settings=True).stream.intensity == 0.3


def test_the_user_config_keeps_its_comments_and_applies_to_run_too(user_config_dir, caplog):
    """reenact.yaml is the user's file: a panel change rewrites one line, keeps the comments and
    the user's own keys (any config key, not only live settings), and `reenact run` reads it."""
    caplog.set_level(logging.INFO, logger="reenact")
    path = user_config_dir / "reenact.yaml"
    path.write_text(
        "# my settings\nrenderer:\n  kind: warp  # fast on this laptop\n"
        "stream:\n  intensity: 0.9  # a bit less\n"
    )
    save_settings({"stream.intensity": 0.6, "smoothing.enabled": False})
    assert path.read_text() == (
        "# my settings\nrenderer:\n  kind: warp  # fast on this laptop\n"
        "stream:\n  intensity: 0.6  # a bit less\n"
        "smoothing:\n  enabled: false\n"
    )
    parser = build_parser()
    run = config_from_args(parser.parse_args(["run", "-s", "video:x.mp4"]), kept_settings=True)
    assert run.renderer.kind == "warp" and run.stream.intensity == 0.6
    flag = config_from_args(
        parser.parse_args(["run", "-s", "video:x.mp4", "--renderer", "generator"]),
        kept_settings=True,
    )
    assert flag.renderer.kind == "generator" and flag.smoothing.enabled is False


def test_a_sink_named_on_the_command_line_drops_the_user_configs_sink_options(user_config_dir):
    (user_config_dir / "reenact.yaml").write_text(
        "sink:\n  kind: stream\n  url: udp://127.0.0.1:23456\n"
    )
    parser = build_parser()
    kept = config_from_args(parser.parse_args(["live"]), kept_settings=True)
    assert kept.sink.kind == "stream" and kept.sink.options["url"] == "udp://127.0.0.1:23456"
    null = config_from_args(parser.parse_args(["live", "--sink", "null"]), kept_settings=True)
    assert null.sink.kind == "null" and "url" not in null.sink.options


def test_an_earlier_versions_panel_yaml_is_merged_in_once(user_config_dir, caplog):
    caplog.set_level(logging.INFO, logger="reenact")
    (user_config_dir / "panel.yaml").write_text("stream:\n  intensity: 0.5\n  gaze_gain: 0.8\n")
    (user_config_dir / "reenact.yaml").write_text("stream:\n  intensity: 0.7  # mine\n")
    args = build_parser().parse_args(["live"])
    config = config_from_args(args, kept_settings=True)
    assert config.stream.intensity == 0.7 and config.eyes.gaze_gain == 0.8  # the user's wins
    assert not (user_config_dir / "panel.yaml").exists()
    assert (user_config_dir / "panel.yaml.old").is_file()
    assert "kept settings moved from" in caplog.text
    assert "intensity: 0.7  # mine" in (user_config_dir / "reenact.yaml").read_text()
    caplog.clear()
    config_from_args(args, kept_settings=True)
    assert "moved from" not in caplog.text
