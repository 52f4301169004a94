"""`lab.face_bank` on a real clip, tracked by the real face mesh: it scores each renderer without
and with the bank, writes a strip, and refuses a bad split or a missing clip in one line."""

from __future__ import annotations

import re

import cv2
from tests.helpers import run_lab_tool


def run_tool(*args: str):
    return run_lab_tool("face_bank", *args, timeout=600)


def test_the_tool_scores_the_warp_with_and_without_the_bank(clips_dir, tmp_path):
    done = run_tool(
        str(clips_dir / "lp_d12.mp4"),
        "--frames",
        "60",
        "--renderers",
        "warp",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    for part in ("mouth", "eyes"):
        line = next(x for x in done.stdout.splitlines() if f"warp {' ' * 14}{part}" in x)
        found = re.findall(rf"{part} SSIM ([\d.]+) -> ([\d.]+)", line)[0]
        before, after = (float(v) for v in found)
        assert 0.3 < before < 1 and 0.3 < after < 1 and before != after, line
    strip = cv2.imread(str(tmp_path / "lp_d12_warp.png"))
    assert strip is not None and strip.shape[1] == 3 * 256  # truth, the warp, with the bank


def test_bad_input_is_a_one_line_error(clips_dir, tmp_path):
    for args, named in (
        ((str(clips_dir / "lp_d12.mp4"), "--split", "0.95"), "--split"),
        ((str(tmp_path / "nobody.mp4"),), "nobody.mp4"),
    ):
        done = run_tool(*args)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().count("\n") == 0 and named in done.stderr
