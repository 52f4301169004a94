"""`reenact bench` runs on the CPU at a small size and writes valid JSON (no timing asserts)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import run_bench


def test_bench_writes_a_table_and_json(clips_dir, tmp_path):
    out = tmp_path / "bench.json"
    result = run_bench(
        "--source",
        f"video:{clips_dir / 'lp_d1.mp4'}",
        "--sizes",
        "256",
        "--widths",
        "lite,shipped",
        "--backends",
        "torch,onnx",
        "--frames",
        "8",
        "--json",
        str(out),
        cache=tmp_path / "cache",
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
        assert row["cpu_ms"] > 0  # the process's CPU time a frame, beside the wall-clock fps
        for stage in ("track", "render", "composite", "total"):
            v = row["stages"][stage]
            assert 0 < v["median_ms"] <= v["p99_ms"]
    lite = [r for r in rows if r["width"] == "lite"]
    assert lite and all(r["ngf"] == 16 and r["variant"] == "paper" for r in lite)
    shipped = [r for r in rows if r["width"] == "shipped"]
    # on ONNX Runtime the shipped generator runs its shipped INT8 model (renderer.quantize: auto)
    assert {r["backend"] for r in shipped} >= {"torch-cpu", "onnx-cpu-int8"}
    assert all(r["variant"] == "warp_guided" and r["ngf"] == 16 for r in shipped)
    live = next(r for r in rows if r["live"])
    assert live["width"] == "shipped"  # the live row times what users run by default
    assert 0 < live["latency_ms"]["median"] <= live["latency_ms"]["p99"]
    assert "median / p99" in result.stdout and "live: capture->sink" in result.stdout
    assert "cpu ms" in result.stdout


def test_bench_replay_times_the_renderer_alone(clips_dir, tmp_path):
    """--save-replay tracks a real clip; --replay times the renderer on it without a tracker."""
    replay, out = tmp_path / "replay.npz", tmp_path / "replay_bench.json"
    saved = subprocess.run(
        [
            sys.executable,
            "-m",
            "reenact.cli.main",
            "bench",
            "--source",
            f"video:{clips_dir / 'lp_d1.mp4'}",
            "--sizes",
            "256",
            "--widths",
            "lite",
            "--backends",
            "torch",
            "--frames",
            "6",
            "--no-live",
            "--save-replay",
            str(replay),
            "--json",
            str(tmp_path / "loop.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert saved.returncode == 0, saved.stderr
    with np.load(replay) as data:
        assert data["fused_256"].shape == (6, 478, 3) and data["crop_256"].shape == (256, 256, 3)
        assert np.abs(np.diff(data["fused_256"], axis=0)).max() > 0  # real, moving landmarks
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reenact.cli.main",
            "bench",
            "--replay",
            str(replay),
            "--sizes",
            "256",
            "--widths",
            "lite,shipped",
            "--backends",
            "torch",
            "--frames",
            "4",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    rows = report["rows"]
    assert [(r["renderer"], r["width"]) for r in rows] == [
        ("warp", ""),
        ("generator", "lite"),
        ("generator", "shipped"),
    ]
    for row in rows:
        render = row["stages"]["render"]
        assert 0 < render["median_ms"] <= render["p99_ms"] and row["fps"] > 0
    assert rows[2]["variant"] == "warp_guided" and rows[1]["backend"] == "torch-cpu"
    assert "host to host" in result.stdout

    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "reenact.cli.main",
            "bench",
            "--replay",
            str(replay),
            "--sizes",
            "512",
            "--backends",
            "torch",
            "--json",
            str(tmp_path / "x.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert missing.returncode != 0 and not (tmp_path / "x.json").exists()
    assert "no replay for size 512" in missing.stderr and "Traceback" not in missing.stderr


def test_widths_take_a_number_and_name_a_bad_one():
    from reenact.errors import ConfigError
    from reenact.tools.bench import bench_cases, width_ngf

    assert [width_ngf(w) for w in ("full", "lite", "32")] == [64, 16, 32]
    cases = bench_cases([256], ["32"], ["torch"])
    assert [(c.renderer, c.width) for c in cases] == [("warp", ""), ("generator", "32")]
    with pytest.raises(ConfigError, match="'huge'"):
        bench_cases([256], ["huge"], ["torch"])
