"""`python -m lab.uncovered`: each portrait's moved head scored by
`reenact_lab.eval.head_shift`, with and without the matte, on real portraits (real MediaPipe face mesh
and selfie segmentation)."""

from __future__ import annotations

from pathlib import Path

import cv2

from lab.uncovered import STRIP_TILE
from tests.helpers import run_lab_tool


def _run(*args: str):
    return run_lab_tool("uncovered", *args, timeout=300)


def _rates(stdout: str) -> dict[str, str]:
    return {line.split()[0]: line.split()[1] for line in stdout.splitlines()[1:] if line.split()}


def test_the_matte_lowers_the_ghost_and_the_strips_are_written(portraits_dir: Path, tmp_path: Path):
    portraits = [str(portraits_dir / n) for n in ("lp_drv_d19.jpg", "lp_s25.jpg")]
    matted = _run(*portraits, "--strips", str(tmp_path))
    plain = _run(*portraits, "--no-matte")
    assert matted.returncode == 0 and plain.returncode == 0, (matted.stderr, plain.stderr)
    now, before = _rates(matted.stdout), _rates(plain.stdout)
    assert float(now["lp_drv_d19"]) < 0.02 < 0.05 < float(before["lp_drv_d19"]), (now, before)
    assert now["lp_s25"] == "n/a"  # a dog: no person outline to judge
    assert now["mean"] == now["lp_drv_d19"]  # the mean is over the portraits with a person
    strip = cv2.imread(str(tmp_path / "lp_drv_d19.png"))
    # five moved heads, each under its move's label, as `reenact eval` draws them
    assert strip is not None and strip.shape[1] == 5 * STRIP_TILE < 6 * strip.shape[0]
    assert strip.shape[0] > STRIP_TILE
    assert not (tmp_path / "lp_s25.png").exists()


def test_bad_input_is_a_one_line_error(tmp_path: Path, portraits_dir: Path):
    done = _run(str(tmp_path / "nobody.png"))
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr
    assert "nobody.png" in done.stderr
    several = _run(str(tmp_path / "nobody.png"), str(portraits_dir / "lp_s42.jpg"))
    assert several.returncode == 0 and "skipped" in several.stderr, several.stderr
    assert "lp_s42" in _rates(several.stdout)
