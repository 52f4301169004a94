"""The user's folders (issue 89, build 3): the gallery, presets and settings are the same whatever
folder reenact starts from; a run writes into the current folder only what the user names;
`reenact paths` prints the folders; old ./out/targets and ./presets are offered for moving and
moved without overwriting anything.

The folders are the tests' own (tests/conftest.py sets REENACT_CONFIG_DIR, REENACT_DATA_DIR,
REENACT_LOG_DIR and REENACT_CACHE_DIR); `reenact` subprocesses inherit them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from reenact.cli.main import main
from reenact.fusion.presets import SHIPPED_DIR
from tests.panel_session import LiveSession

REENACT = str(Path(sys.executable).with_name("reenact"))
# LiveSession names its own targets and output folders: these put the defaults back
USER_FOLDERS = ["--set", "stream.targets_dir=", "--set", "stream.output_dir="]


def test_two_folders_show_the_same_gallery_presets_and_settings(
    tmp_path, clips_dir, portraits_dir, user_data_dir, user_log_dir, monkeypatch
):
    clip = clips_dir / "lp_d0.mp4"
    first_folder, second_folder = tmp_path / "desktop", tmp_path / "projects"
    first_folder.mkdir()
    monkeypatch.chdir(first_folder)  # a preset recorded from the first folder
    assert main(["preset", "record", "mine", "--source", f"video:{clip}:30"]) == 0
    assert (user_data_dir / "presets" / "mine.npz").is_file()
    first = LiveSession(clip, first_folder, extra=USER_FOLDERS)
    try:
        upload = (portraits_dir / "lp_s2.jpg").read_bytes()
        code, body, _ = first.call("POST", "/targets?name=me.jpg", upload)
        assert code == 200, body
        code, body, _ = first.call("POST", "/settings", {"stream.intensity": 0.3})
        assert code == 200, body
        assert "mine" in first.status()["presets"]["available"]
    finally:
        first.close()
    assert (user_data_dir / "targets" / "me.png").is_file()
    assert (user_log_dir / "live.config.yaml").is_file()
    assert (user_log_dir / "live.timing.json").is_file()
    second = LiveSession(clip, second_folder, extra=USER_FOLDERS)
    try:
        code, body, _ = second.call("GET", "/targets")
        status = second.status()
        code_s, settings, _ = second.call("GET", "/settings")
    finally:
        second.close()
    assert code == 200 and "me.png" in [t["name"] for t in body["targets"]], body
    assert "mine" in status["presets"]["available"]
    assert code_s == 200
    assert {r["key"]: r["value"] for r in settings["settings"]}["stream.intensity"] == 0.3
    for folder in (first_folder, second_folder):  # nothing written where reenact started
        assert sorted(p.name for p in folder.iterdir()) == ["targets"]  # LiveSession's own
        assert list((folder / "targets").iterdir()) == []


def test_a_run_into_no_file_writes_its_records_to_the_logs_folder(
    tmp_path, clips_dir, user_log_dir, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "run",
                "--source",
                f"video:{clips_dir / 'lp_d0.mp4'}",
                "--sink",
                "null",
                "--renderer",
                "warp",
                "--max-frames",
                "3",
            ]
        )
        == 0
    )
    assert list(tmp_path.iterdir()) == []
    timing = json.loads((user_log_dir / "run.timing.json").read_text())
    assert timing["frames_out"] == 3 and (user_log_dir / "run.config.yaml").is_file()
    output = tmp_path / "clips" / "me.mp4"
    assert (
        main(
            [
                "run",
                "--source",
                f"video:{clips_dir / 'lp_d0.mp4'}",
                "--sink",
                f"file:{output}",
                "--renderer",
                "warp",
                "--max-frames",
                "3",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in output.parent.iterdir()) == [
        "me.config.yaml",
        "me.mp4",
        "me.timing.json",
    ]  # beside the file the user named


def test_paths_prints_the_folders_the_environment_names(tmp_path):
    env = {
        **os.environ,
        "REENACT_CONFIG_DIR": str(tmp_path / "c"),
        "REENACT_DATA_DIR": str(tmp_path / "d"),
        "REENACT_CACHE_DIR": str(tmp_path / "k"),
        "REENACT_LOG_DIR": str(tmp_path / "l"),
    }
    text = subprocess.run(
        [REENACT, "paths"], env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    rows = [line.split(None, 1) for line in text.splitlines()]
    assert rows == [
        ["config", str(tmp_path / "c")],
        ["data", str(tmp_path / "d")],
        ["targets", str(tmp_path / "d" / "targets")],
        ["avatars", str(tmp_path / "d" / "avatars")],
        ["presets", str(tmp_path / "d" / "presets")],
        ["cache", str(tmp_path / "k")],
        ["logs", str(tmp_path / "l")],
    ]
    found = json.loads(
        subprocess.run(
            [REENACT, "paths", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    assert found["cache"] == str(tmp_path / "k") and found["targets"] == rows[2][1]
    assert found["user_config"] == str(tmp_path / "c" / "reenact.yaml")
    assert not any(p.exists() for p in tmp_path.iterdir())  # printing makes no folder


def test_old_folders_are_offered_and_moved_without_overwriting(
    tmp_path, clips_dir, portraits_dir, user_data_dir
):
    work = tmp_path / "old-project"
    old_targets, old_presets = work / "out" / "targets", work / "presets"
    old_targets.mkdir(parents=True)
    old_presets.mkdir()
    shutil.copy(portraits_dir / "lp_s2.jpg", old_targets / "me.jpg")
    shutil.copy(portraits_dir / "lp_s10.jpg", old_targets / "taken.jpg")
    shutil.copy(SHIPPED_DIR / "smile.npz", old_presets / "big_smile.npz")
    np.savez(old_presets / "notes.npz", values=np.arange(3))  # not a reenact preset
    (user_data_dir / "targets").mkdir(parents=True)
    already = user_data_dir / "targets" / "taken.jpg"
    already.write_bytes(b"the user's newer picture")

    live = subprocess.run(
        [
            REENACT,
            "live",
            "--source",
            f"video:{clips_dir / 'lp_d0.mp4'}",
            "--sink",
            "null",
            "--renderer",
            "warp",
            "--max-frames",
            "3",
            "--set",
            "panel.enabled=false",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert live.returncode == 0, live.stderr[-3000:]
    offered = [line for line in live.stderr.splitlines() if "--move-old" in line]
    assert offered == [
        f"reenact: ./out/targets (2 targets) and ./presets (2 presets) from an "
        f"earlier version: reenact now keeps them in {user_data_dir}; "
        f"`reenact paths --move-old` moves them there"
    ]

    def move() -> list[str]:
        done = subprocess.run(
            [REENACT, "paths", "--move-old"],
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return done.stdout.splitlines()

    said = move()
    assert said[0] == f"moved 1 targets from {old_targets} to {user_data_dir / 'targets'}"
    assert f"left {old_targets / 'taken.jpg'}: {already} already exists" in said[1]
    assert f"moved 1 presets from {old_presets} to {user_data_dir / 'presets'}" in said
    assert f"left {old_presets / 'notes.npz'}: not a reenact preset" in said
    assert already.read_bytes() == b"the user's newer picture"  # never overwritten
    assert (old_targets / "taken.jpg").is_file() and not (old_targets / "me.jpg").exists()
    moved = user_data_dir / "targets" / "me.jpg"
    assert moved.read_bytes() == (portraits_dir / "lp_s2.jpg").read_bytes()
    assert (user_data_dir / "presets" / "big_smile.npz").read_bytes() == (
        SHIPPED_DIR / "smile.npz"
    ).read_bytes()
    again = move()  # what is left stays left, and nothing moved is touched
    assert again[0] == f"moved 0 targets from {old_targets} to {user_data_dir / 'targets'}"
    assert already.read_bytes() == b"the user's newer picture"
