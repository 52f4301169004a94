"""The built wheel is complete: installed into a fresh venv outside the checkout, `reenact demo`
runs from there, and the weights, presets and panel page come from inside the package.

The fresh venv gets only the wheel (--no-deps); its dependencies (torch, mediapipe, ...) are
borrowed from this venv's site-packages through a plain path entry, so nothing is downloaded,
and the checkout's editable install is not seen (its .pth hooks are not run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_wheel_installs_and_runs_the_demo_outside_the_checkout(tmp_path):
    source = tmp_path / "source"  # a copy: the build's build/ folder stays out of the checkout
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".git",
            "build",
            "dist",
            "out",
            "cache",
            "runs",
            "*.egg-info",
            "__pycache__",
            ".pytest_cache",
        ),
    )
    wheels = tmp_path / "wheels"
    built = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(source),
        ],
        cwd=tmp_path,
    )
    # every folder of the package is listed: setuptools warns of none it would leave out
    assert "would be ignored" not in built.stdout + built.stderr, built.stderr
    wheel = next(wheels.glob("reenact-*.whl"))

    env_dir = tmp_path / "fresh-venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=tmp_path,
        ).stdout.strip()
    )
    (site / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        cwd=tmp_path,
    )

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = run(
        [
            str(python),
            "-c",
            "import reenact, reenact.config.load as l, "
            "reenact.stream.panel_app as p, reenact.engine.shipped as f; "
            "print(reenact.__file__); print(l.CONFIG_DIR); print(p.WEB_DIR); "
            "print(f.shipped_weights('generator'))",
        ],
        cwd=work,
    ).stdout.split()
    assert all(str(site) in line for line in where), where  # the package, not the checkout
    assert (Path(where[1]) / "live.yaml").is_file() and (Path(where[2]) / "index.html").is_file()
    assert Path(where[3]).name == "generator_256.safetensors"

    reenact = env_dir / "bin" / "reenact"
    run([str(reenact), "demo", "--output", "out/demo.mp4", "--max-frames", "12"], cwd=work)
    assert (work / "out" / "demo.mp4").stat().st_size > 1000
    assert (work / "out" / "demo.config.yaml").is_file()
    run([str(reenact), "live", "--help"], cwd=work)
