"""The soak command accounts for every frame and samples memory and fps over time."""

from __future__ import annotations

import json
import subprocess
import sys


def test_short_soak_accounts_for_every_frame(clips_dir, tmp_path):
    out = tmp_path / "soak.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reenact.cli.main",
            "soak",
            "--source",
            f"video:{clips_dir / 'lp_d1.mp4'}",
            "--duration",
            "6",
            "--window",
            "1",
            "--warmup",
            "1",
            "--renderer",
            "warp",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    f = report["frames"]
    assert f["decoded"] == f["dropped_by_source"] + f["produced_by_source"]
    assert f["produced_by_source"] == f["captured"]
    assert f["captured"] == f["processed"] + f["dropped_by_capture"]
    assert f["written"] == f["processed"] + f["stall_frames"]
    # a 16-frame clip at 30 fps played for 6 s: it looped, roughly in real time
    assert 100 <= f["decoded"] <= 6 * 30 + 10
    assert len(report["windows"]) >= 4
    assert report["memory_mib"]["end"] > 50 and report["fps"]["min_window"] > 0
    assert "decoded" in result.stdout and "memory" in result.stdout
