"""`reenact bench` runs on the CPU at a small size and writes valid JSON (no timing asserts)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_writes_a_table_and_json(clips_dir, tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "reenact.cli.main", "bench", "--source",
         f"video:{clips_dir / 'lp_d1.mp4'}", "--sizes", "256", "--widths", "lite,shipped",
         "--backends", "torch,onnx", "--frames", "8", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["device"]["device"] and report["device"]["torch"]
    rows = report["rows"]
    kinds = {(r["renderer"], r["backend"], r["live"]) for r in rows}
    assert ("warp", "numpy", False) in kinds
    assert ("generator", "torch-cpu", False) in kinds and ("generator", "onnx-cpu", False) in kinds
    assert any(r["live"] for r in rows)
    for row in rows:
        assert row["frames"] == 8 or row["live"]
        assert row["fps"] > 0
        for stage in ("track", "render", "composite", "total"):
            v = row["stages"][stage]
            assert 0 < v["median_ms"] <= v["p99_ms"]
    lite = [r for r in rows if r["width"] == "lite"]
    assert lite and all(r["ngf"] == 16 and r["variant"] == "paper" for r in lite)
    shipped = [r for r in rows if r["width"] == "shipped"]
    assert {r["backend"] for r in shipped} >= {"torch-cpu", "onnx-cpu"}
    assert all(r["variant"] == "warp_guided" and r["ngf"] == 16 for r in shipped)
    live = next(r for r in rows if r["live"])
    assert live["width"] == "shipped"  # the live row times what users run by default
    assert 0 < live["latency_ms"]["median"] <= live["latency_ms"]["p99"]
    assert "median / p99" in result.stdout and "live: capture->sink" in result.stdout
