"""The `reenact` command as a user meets it: plugins, third-party sinks, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

REENACT = [sys.executable, "-m", "reenact.cli.main"]
SOURCES = ("webcam", "video", "image")
SINKS = ("virtualcam", "file", "stream", "window", "null")


def reenact(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 300):
    """Run the command as a user would, from a scratch folder (run logs land in ./out), removed
    afterwards unless the caller gave `cwd`."""
    full_env = {**os.environ, **(env or {})}
    if cwd is not None:
        return subprocess.run(
            [*REENACT, *args],
            capture_output=True,
            text=True,
            env=full_env,
            cwd=cwd,
            timeout=timeout,
        )
    with tempfile.TemporaryDirectory(prefix="reenact-cli-") as scratch:
        return reenact(*args, env=env, cwd=Path(scratch), timeout=timeout)


def one_line_error(result) -> str:
    """The error a user sees: non-zero exit, exactly one `reenact: error:` line on stderr."""
    assert result.returncode != 0, result.stdout + result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("reenact: error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_plugins_lists_every_source_and_sink():
    result = reenact("plugins")
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert set(SOURCES) | set(SINKS) <= listed
    # this machine has no v4l2loopback device: the line says what to do
    virtualcam = next(l for l in result.stdout.splitlines() if l.strip().startswith("virtualcam"))
    assert "v4l2loopback" in virtualcam


THIRD_PARTY_SINK = """
from reenact.plugin_api import BaseSink


class PrintSink(BaseSink):
    name = "print"

    def __init__(self, config, *, width, height, fps):
        super().__init__(width=width, height=height, fps=fps)

    def write(self, image):
        self.frames_written += 1
        print("frame", self.frames_written, self.check_frame(image).shape, flush=True)
"""


@pytest.fixture(scope="module")
def third_party_site(tmp_path_factory) -> Path:
    """A sink in one file and one entry point, pip-installed the way a third party would."""
    root = tmp_path_factory.mktemp("thirdparty")
    pkg = root / "pkg"
    pkg.mkdir()
    (pkg / "reenact_print_sink.py").write_text(THIRD_PARTY_SINK)
    (pkg / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "reenact-print-sink"
        version = "0.1"

        [tool.setuptools]
        py-modules = ["reenact_print_sink"]

        [project.entry-points."reenact.sinks"]
        print = "reenact_print_sink:PrintSink"
    """)
    )
    site = root / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(pkg),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return site


def test_third_party_sink_shows_up_and_runs(third_party_site, portraits_dir):
    env = {"PYTHONPATH": str(third_party_site)}
    listed = reenact("plugins", env=env)
    assert listed.returncode == 0, listed.stderr
    line = next(l for l in listed.stdout.splitlines() if l.strip().startswith("print"))
    assert "ok" in line and "reenact-print-sink" in line
    portrait = portraits_dir / "lp_drv_d19.jpg"
    run = reenact(
        "run",
        "--source",
        f"image:{portrait}",
        "--sink",
        "print",
        "--max-frames",
        "3",
        "--renderer",
        "warp",
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert [l for l in run.stdout.splitlines() if l.startswith("frame")][-1].startswith("frame 3")


def test_unknown_sink_lists_installed_ones(portraits_dir):
    err = one_line_error(
        reenact("run", "--source", f"image:{portraits_dir / 'lp_s0.jpg'}", "--sink", "nosuchsink")
    )
    assert "unknown sink 'nosuchsink'" in err and "file" in err and "virtualcam" in err


def test_missing_source_file(tmp_path):
    missing = tmp_path / "missing.mp4"
    err = one_line_error(reenact("run", "--source", f"video:{missing}", "--sink", "null"))
    assert str(missing) in err


def test_camera_index_that_does_not_exist():
    err = one_line_error(reenact("run", "--source", "webcam:97", "--sink", "null"))
    assert "97" in err


def test_sink_that_cannot_open(clips_dir, tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where a folder should be")
    out = blocker / "out.mp4"
    err = one_line_error(
        reenact(
            "run",
            "--source",
            f"video:{clips_dir / 'lp_d1.mp4'}",
            "--sink",
            f"file:{out}",
            "--renderer",
            "warp",
        )
    )
    assert "not_a_dir" in err
    assert not out.exists()


def test_config_typo(tmp_path, clips_dir):
    preset = tmp_path / "typo.yaml"
    preset.write_text("smoothing:\n  min_cutof: 1.0\n")
    err = one_line_error(
        reenact("run", "--source", f"video:{clips_dir / 'lp_d1.mp4'}", "--config", str(preset))
    )
    assert "smoothing.min_cutof" in err and "typo.yaml" in err


def test_target_without_a_face(tmp_path, clips_dir):
    from skimage import data

    from reenact.imageio import save_image

    landscape = save_image(tmp_path / "coffee.png", data.coffee())
    err = one_line_error(
        reenact(
            "run",
            "--source",
            f"video:{clips_dir / 'lp_d1.mp4'}",
            "--target",
            str(landscape),
            "--sink",
            "null",
        )
    )
    assert "coffee.png" in err and "face" in err


def test_help_is_there_for_a_newcomer():
    result = reenact("--help")
    assert result.returncode == 0
    for command in ("run", "live", "demo", "plugins", "doctor"):
        assert command in result.stdout
    assert "--source" in reenact("run", "--help").stdout


def test_export_weights_halves_a_generator_and_it_still_loads(tmp_path):
    import torch

    from reenact.render.generator import load_generator
    from reenact.engine.weights import load_weights, save_module
    from reenact.nn.unet import UNetGenerator

    torch.manual_seed(0)
    model = UNetGenerator(ngf=8, size=256, variant="warp_guided").eval()
    source = save_module(tmp_path / "trained.safetensors", model, {"task": "generator", "step": 7})
    shipped = tmp_path / "ship" / "generator.safetensors"
    result = reenact("export", "weights", "--weights", str(source), "-o", str(shipped))
    assert result.returncode == 0, result.stderr
    assert "float16" in result.stdout and "largest change" in result.stdout
    tensors, meta = load_weights(shipped)
    assert meta["storage_dtype"] == "float16" and meta["step"] == "7"
    assert meta["variant"] == "warp_guided" and meta["exported_from"] == "trained.safetensors"
    assert all(t.dtype == torch.float16 for t in tensors.values() if t.is_floating_point())
    assert shipped.stat().st_size < 0.6 * source.stat().st_size
    assert not list(shipped.parent.glob(".*"))  # no temporary file left behind
    loaded, _ = load_generator(shipped)
    x = torch.rand(1, model.in_channels, 256, 256) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=2e-2)


def test_export_weights_needs_both_files(tmp_path):
    line = one_line_error(reenact("export", "weights", "-o", str(tmp_path / "x.safetensors")))
    assert "--weights" in line
    assert not (tmp_path / "x.safetensors").exists()
