"""`bash scripts/device/bench_gpu.sh --dry-run`: the prepared GPU command, run whole on this CPU
(the install into a temporary folder, the cvclip source, the runs, the one JSON) so that the
lent GPU's minutes go to the measurement. Two of its runs, a few frames each; no timing asserts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "device" / "bench_gpu.sh"


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def test_dry_run_writes_one_json_with_the_gpu_and_cpu_runs(clips_dir, tmp_path):
    out = tmp_path / "out"
    done = _run(
        "--dry-run",
        str(tmp_path / "no_wheels"),
        env={
            "OUT": str(out),
            "CLIP": str(clips_dir / "lp_d1.mp4"),
            "ONLY": "gpu256_60,cpu2_256",
            "PYTHON": sys.executable,
        },
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "mediapipe ok" in done.stdout and "no wheels in" in done.stdout
    assert [p.name for p in out.iterdir()] == ["bench_gpu.json"]  # a device call returns few files
    report = json.loads((out / "bench_gpu.json").read_text())
    assert report["dry_run"] is True and report["frames"] == 6
    runs = {r["label"]: r for r in report["runs"]}
    assert list(runs) == ["gpu256_60", "cpu2_256"]
    gpu, cpu = runs["gpu256_60"], runs["cpu2_256"]
    assert gpu["returncode"] == 0 and cpu["returncode"] == 0
    assert "--backends torch" in gpu["command"]  # CUDA's stand-in on this CPU
    assert "source.fps=60" in gpu["command"] and cpu["cores"] == 2
    rows = gpu["result"]["rows"]
    # a dry run swaps CUDA for torch on the CPU; the warp and the live row are there too
    assert [(r["renderer"], r["backend"], r["live"]) for r in rows] == [
        ("warp", "numpy", False),
        ("generator", "torch-cpu", False),
        ("generator", "torch-cpu", True),
    ]
    assert 0 < rows[2]["latency_ms"]["median"] <= rows[2]["latency_ms"]["p99"]
    for row in rows + cpu["result"]["rows"]:
        assert {"track.landmarks", "fuse.fuser", "warp.remap", "composite.paste"} <= set(
            row["steps"]
        )
    assert "generator.network" in cpu["result"]["rows"][1]["steps"]
    assert not any(r["live"] for r in cpu["result"]["rows"])


def test_bad_arguments_say_what_was_wrong(tmp_path):
    done = _run("--fast")
    assert done.returncode == 2 and "unknown option --fast" in done.stderr
    done = _run(str(tmp_path / "no_wheels"), env={"CLIP": str(tmp_path / "none.mp4")})
    assert done.returncode == 2 and "no clip at" in done.stderr
    core = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "device" / "bench_gpu.py"),
            "--clip",
            str(SCRIPT),
            "--out",
            str(tmp_path),
            "--only",
            "gpu1024",
        ],
        capture_output=True,
        text=True,
    )
    assert core.returncode == 2 and "unknown run gpu1024" in core.stderr
