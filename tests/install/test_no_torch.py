"""The CPU runtime runs without torch: `reenact live` and `reenact demo` in a subprocess where
torch cannot be imported (tests/install/no_torch), on a real clip through the real tracker, the
shipped fuser and the shipped generator on ONNX Runtime. A quick stand-in for test_wheel.py,
which installs the wheel into a venv that has no torch at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
pytest.importorskip("onnxruntime")


def _reenact(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(HERE / "no_torch"), str(REPO), env.get("PYTHONPATH", "")])
    )
    env["REENACT_CACHE_DIR"] = env["REENACT_CACHE"] = str(cache)  # empty: no export to lean on
    code = (
        "import sys; sys.argv = ['reenact', *sys.argv[1:]]\n"
        "from reenact.cli.main import main\n"
        "try:\n    code = main()\nexcept SystemExit as stop:\n    code = stop.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('torch imported:', 'torch' in sys.modules)\n"
        "sys.exit(code)"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_sitecustomize_hides_torch(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(HERE / "no_torch")}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.util, sys; print(importlib.util.find_spec('torch')); import torch",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == "None"
    assert "ModuleNotFoundError: No module named 'torch'" in probe.stderr


def test_live_runs_without_torch(tmp_path, clips_dir):
    run = _reenact(
        "live",
        "--source",
        f"video:{clips_dir / 'dpe_d.mp4'}",
        "--sink",
        "null",
        "--max-frames",
        "20",
        "-v",
        cwd=tmp_path,
        cache=tmp_path / "cache",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "torch imported: False" in run.stdout
    # the shipped INT8 ONNX file (renderer.quantize: auto), not a fallback renderer
    assert "generator_256.int8.onnx" in run.stderr
    assert "end-to-end" in run.stdout + run.stderr


def test_the_learned_corrections_run_without_torch(tmp_path, clips_dir):
    run = _reenact(
        "run",
        "--source",
        f"video:{clips_dir / 'dpe_d.mp4'}",
        "--sink",
        "null",
        "--max-frames",
        "5",
        "--set",
        "renderer.corrections=learned",
        "-v",
        cwd=tmp_path,
        cache=tmp_path / "cache",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "torch imported: False" in run.stdout
    # the shipped network (its INT8 model: renderer.quantize auto), in the generator's warp
    assert "local_mouth.int8.onnx" in run.stderr


def test_demo_runs_without_torch(tmp_path):
    out = tmp_path / "demo.mp4"
    run = _reenact("demo", "--output", str(out), cwd=tmp_path, cache=tmp_path / "cache")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "torch imported: False" in run.stdout
    assert out.stat().st_size > 10_000


def test_other_weights_without_torch_say_what_to_install(tmp_path, clips_dir):
    weights = tmp_path / "mine.safetensors"
    weights.write_bytes((REPO / "reenact" / "models" / "generator_256.safetensors").read_bytes())
    run = _reenact(
        "run",
        "--source",
        f"video:{clips_dir / 'dpe_d.mp4'}",
        "--sink",
        "null",
        "--max-frames",
        "3",
        "--weights",
        str(weights),
        cwd=tmp_path,
        cache=tmp_path / "cache",
    )
    assert run.returncode != 0
    error = [line for line in run.stderr.splitlines() if "mine.safetensors" in line]
    assert len(error) == 1 and "pip install 'reenact[train]'" in error[0], run.stderr[-2000:]
    assert "Traceback" not in run.stderr


def test_an_avatar_target_runs_without_torch(tmp_path, clips_dir, portraits_dir):
    from tests.avatar_files import make_avatar  # numpy and safetensors: no torch here either

    avatar = make_avatar(tmp_path / "mine.avatar", portraits_dir / "lp_s0.jpg", shift=0.5)
    out = tmp_path / "out.mp4"
    run = _reenact(
        "run",
        "--source",
        f"video:{clips_dir / 'dpe_d.mp4'}",
        "--target",
        str(avatar),
        "--sink",
        f"file:{out}",
        "--max-frames",
        "10",
        "-v",
        cwd=tmp_path,
        cache=tmp_path / "cache",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "torch imported: False" in run.stdout
    assert "avatar mine.avatar: its own generator on onnx-cpu" in run.stderr, run.stderr[-3000:]
    assert out.stat().st_size > 10_000
