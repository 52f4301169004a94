"""`lab.target_prepare` on a real clip as the target: it times each first-loop frame's
preparation, and refuses a still picture or a missing file in one line."""

from __future__ import annotations

import re

from tests.helpers import run_lab_tool


def test_the_tool_times_a_moving_targets_first_loop(clips_dir):
    done = run_lab_tool("target_prepare", "--target", str(clips_dir / "lp_d7.mp4"), timeout=600)
    assert done.returncode == 0, done.stderr
    found = re.search(r"(\d+) frames, set target median ([\d.]+) ms", done.stdout)
    assert found, done.stdout
    assert int(found[1]) > 100 and 0.5 < float(found[2]) < 1000, done.stdout


def test_a_still_or_missing_target_is_a_one_line_error(portraits_dir, tmp_path):
    for target in (portraits_dir / "lp_s0.jpg", tmp_path / "nobody.mp4"):
        done = run_lab_tool("target_prepare", "--target", str(target), timeout=300)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().count("\n") == 0 and target.name in done.stderr
