"""`reenact eval` end to end on two short real clips and one real portrait.

Renderers: the identity baseline, the training-free warp, an untrained tiny U-net saved with
`save_module` and passed with --generator, and the shipped generator (always added). The real tracker, PyAV, dlib and matplotlib run.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.config import load_config
from reenact_lab.eval.temporal import jitter_on, longest_run
from reenact_lab.eval.move_sweep import MOVES
from reenact.landmarks.expressiveness import FEATURES

REENACT = [sys.executable, "-m", "reenact.cli.main"]
CLIPS = ("lp_d1.mp4", "lp_d2.mp4")  # 16 frames each
PORTRAIT = "lp_s42.jpg"
GENERATOR = "generator:tiny"
SHIPPED = "generator:shipped"  # reenact/models/generator_256.safetensors, added by default
RENDERERS = ("identity", "warp", GENERATOR, SHIPPED)
# head motion off: these 16-frame clips test the measures themselves (an unchanged portrait vs a
# renderer following J_gen); what head motion does to them is tested in test_head_motion*.py
FAST = (
    "--set",
    "calibration.neutral_frames=4",
    "--set",
    "eval.still_frames=8",
    "--set",
    "head.motion=off",
    "--set",
    "renderer.backend=torch",
    "--set",
    "renderer.threads=1",
    "--set",
    "eval.strip_frames=3",
    "--no-progress",
)


def reenact(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*REENACT, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tiny_generator(tmp_path_factory) -> Path:
    import torch

    from reenact.engine.weights import save_module
    from reenact.nn.unet import UNetGenerator

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    return save_module(path, UNetGenerator(ngf=8, size=256))


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, media_dir: Path, tiny_generator: Path) -> tuple[Path, dict, str]:
    out = tmp_path_factory.mktemp("eval") / "report"
    result = reenact(
        "eval",
        "--clips",
        *(str(media_dir / "clips" / c) for c in CLIPS),
        "--portraits",
        str(media_dir / "portraits" / PORTRAIT),
        "--generator",
        str(tiny_generator),
        "--max-frames",
        "16",
        "--out",
        str(out),
        *FAST,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads((out / "report.json").read_text())
    return out, report, (out / "report.md").read_text()


def _finite(value, low: float, high: float) -> bool:
    return value is not None and math.isfinite(value) and low <= value <= high


def test_report_has_every_section_and_every_renderer(evaluated):
    _, report, _ = evaluated
    assert {"meta", "self_reenactment", "cross_reenactment", "temporal", "summary", "files"} <= set(
        report
    )
    assert set(report["meta"]["renderers"]) == set(RENDERERS)
    assert set(report["self_reenactment"]) == {"lp_d1", "lp_d2"}
    assert set(report["cross_reenactment"]) == {"lp_d1__lp_s42", "lp_d2__lp_s42"}
    assert set(report["temporal"]) == set(report["cross_reenactment"])
    assert set(report["summary"]["renderers"]) == set(RENDERERS)


def test_self_reenactment_numbers_are_in_range(evaluated):
    _, report, _ = evaluated
    for clip in report["self_reenactment"].values():
        assert clip["frames_evaluated"] == 15  # every frame but the reference has a face
        for name in RENDERERS:
            r = clip["renderers"][name]
            assert _finite(r["ssim"], -1, 1) and _finite(r["ssim_face"], -1, 1), (name, r)
            assert _finite(r["psnr"], 0, 100) and _finite(r["l1"], 0, 1), (name, r)
            assert len(r["per_frame"]["ssim"]) == 15
            # the default fuser (Phi) is scored apart: its J is not the GT for the same person
            # (only the training-free transfer's is), but renders nearly as the GT does
            assert not r["fused"]["same_as_direct"]
            assert abs(r["fused"]["ssim"] - r["ssim"]) < 0.03, (name, r["fused"])


def test_cross_and_temporal_numbers_are_in_range(evaluated):
    _, report, _ = evaluated
    for key, pair in report["cross_reenactment"].items():
        temporal = report["temporal"][key]
        assert _finite(temporal["driver"]["temporal_ssim"], 0, 1)
        assert _finite(temporal["driver"]["jitter"], 0, 0.2)
        for name in RENDERERS:
            r, t = pair["renderers"][name], temporal["renderers"][name]
            # 16 frames; the neutral is taken from the first 4, and the 4th is already rendered
            assert r["frames_rendered"] == 13
            assert _finite(r["identity_distance"], 0, 2)
            assert len(r["identity_per_frame"]["distance"]) == 3  # every 5th of 13 frames
            assert _finite(r["retrack_rate"], 0, 1)
            assert _finite(t["temporal_ssim"], 0, 1) and t["pairs"] == 12
            assert _finite(t["fused_jitter"], 0, 0.2)
            if name != GENERATOR:  # an untrained U-net paints no face the tracker can find
                assert r["retrack_rate"] == 1.0
                assert _finite(r["expression_error"], 0, 0.5) and _finite(t["jitter"], 0, 0.2)


def test_measures_separate_the_renderers(evaluated):
    _, report, _ = evaluated
    summary = report["summary"]["renderers"]
    # self-reenactment: moving the face as the real frame did beats leaving it unchanged
    assert summary["identity"]["self_ssim"] < summary["warp"]["self_ssim"]
    # identity: the unchanged portrait is itself, the warp keeps the person, a grey blob does not
    assert summary["identity"]["identity_distance"] < 0.1
    assert summary["warp"]["identity_distance"] < 0.6 < summary[GENERATOR]["identity_distance"]
    assert summary[SHIPPED]["identity_distance"] < 0.6  # the trained one keeps the person
    # expression: the warp's output carries J_gen better than the unchanged portrait does
    assert summary["warp"]["expression_error"] < summary["identity"]["expression_error"]


def test_viewer_measures_are_reported_and_separate_the_renderers(evaluated):
    """Issue 13's columns: in summary.renderers.<name>, per clip / pair, report.md and .html."""
    out, report, text = evaluated
    summary = report["summary"]["renderers"]
    for name in RENDERERS:
        s = summary[name]
        assert _finite(s["full_ssim"], -1, 1) and _finite(s["full_psnr"], 0, 100), name
        assert _finite(s["seam"], 0, 1) and _finite(s["haarpsi"], 0, 1), name
        assert _finite(s["sharpness_ratio"], 0, 10) and _finite(s["self_ssim_mouth"], -1, 1)
        assert _finite(s["self_ssim_eyes"], -1, 1) and _finite(s["sharpness_ratio_mouth"], 0, 10)
        assert _finite(s["live_ssim"], -1, 1) and _finite(s["live_psnr"], 0, 100), name
        assert report["self_reenactment"]["lp_d1"]["renderers"][name]["live_frames"] > 0
        for key in (
            "expression_r",
            "expression_gain",
            "gaze_r",
            "gaze_r_moving",
            "gaze_gain",
            "head_r",
            "blink_r",
        ):
            assert (
                key in s and key in report["cross_reenactment"]["lp_d1__lp_s42"]["renderers"][name]
            ), (name, key)
        assert "gaze_sweep_r" in s and "gaze_sweep_gain" in s, name  # n/a: no face re-tracked
        per_frame = report["self_reenactment"]["lp_d1"]["renderers"][name]["per_frame"]
        assert len(per_frame["seam"]) == len(per_frame["ssim"]) == 15
    # the controlled gaze sweep: the unchanged portrait's irises never move, the warp's do
    assert summary["identity"]["gaze_sweep_r"] == 0.0
    assert summary["warp"]["gaze_sweep_r"] > 0.7
    # the controlled head sweep runs with the run's head settings: head motion is off here
    # (FAST), so the warp's head stays as the unchanged portrait's does (that it turns with head
    # motion on, by how much, is test_gaze_measures' head sweep test)
    for name in ("identity", "warp"):
        assert summary[name]["head_sweep_pitch_gain"] == 0.0, name
        assert summary[name]["head_sweep_yaw_gain"] == 0.0, name
    assert "head sweep: lp_s42" in report["files"] and "head sweep nod gain" in text
    # the unchanged portrait carries nothing the actor does (its output only moves with the
    # head, on 12 frames: r stays low, the gain ~0); the warp carries it
    assert summary["identity"]["expression_r"] < 0.3
    assert abs(summary["identity"]["expression_gain"]) < 0.1
    assert summary["warp"]["expression_r"] > max(0.3, summary["identity"]["expression_r"] + 0.3)
    # the reference row: the driver's own frames re-tracked as the outputs are carry the
    # driver's expression far better than the unchanged portrait (a ceiling, not 1: the two
    # tracking modes and their noise differ); per pair and in both pages
    driver = report["summary"]["driver"]
    assert _finite(driver["expression_r"], -1, 1) and _finite(driver["expression_gain"], -2, 3)
    assert driver["expression_r"] > max(0.6, summary["identity"]["expression_r"] + 0.5), driver
    assert abs(driver["expression_gain"] - 1.0) < 0.4, driver
    assert all("expression_r" in t["driver"] for t in report["temporal"].values())
    assert "| driving clip re-tracked" in text
    # every row keeps the ungated reading beside the gated one, and the IV gain (the driver's
    # row has none: its output is the instrument); the identity carries nothing by either
    for name in ("identity", "warp"):
        for key in ("expression_gain_iv", "expression_gain_all", "expression_r_all"):
            assert key in summary[name], (name, key)
    assert abs(summary["identity"]["expression_gain_iv"]) < 0.1
    assert summary["warp"]["expression_gain_iv"] > 0.3
    assert driver["expression_gain_iv"] is None  # NaN, written as null
    assert "expression gain on the actor's true expression (IV)" in text
    # each pair's gain over the real face's: the unchanged portrait still ~0, the warp's the
    # pair's gain divided by its driver's
    assert abs(summary["identity"]["expression_gain_over_real"]) < 0.15
    ratios = [
        report["cross_reenactment"][k]["renderers"]["warp"]["expression_gain"]
        / report["temporal"][k]["driver"]["expression_gain"]
        for k in report["cross_reenactment"]
    ]
    assert len(ratios) > 1
    assert summary["warp"]["expression_gain_over_real"] == pytest.approx(np.mean(ratios))
    assert "real face's" in text
    # J_gen's own row: the fused landmarks carry the expression at least as well as any
    # re-tracked picture of them, and far better than the unchanged portrait; per pair too
    fused = report["summary"]["fused"]
    assert _finite(fused["expression_r"], -1, 1) and _finite(fused["expression_gain"], -2, 3)
    assert fused["expression_r"] > summary["identity"]["expression_r"] + 0.5, fused
    assert fused["expression_r"] > summary["warp"]["expression_r"] - 0.05, fused
    assert all("expression_gain" in p["fused"] for p in report["cross_reenactment"].values())
    assert "| J_gen, before rendering" in text
    # pasting the reference frame's face into another frame leaves a bigger seam than the warp
    assert summary["identity"]["seam"] > summary["warp"]["seam"]
    assert "expression r" in text and "seam" in text and "expression error vs J_gen" in text
    page = (out / "report.html").read_text()
    assert 'id="summary"' in page and 'id="viewer"' in page and "driving clip re-tracked" in page
    assert "J_gen, before rendering" in page
    assert all(path in page for path in report["files"].values())
    # the head-motion stage, once per portrait: what a moved head uncovers (the ghost rate:
    # lp_s42's short hair on a plain wall leaves next to nothing), a table in both pages and a
    # strip of the moved heads
    moved = report["head_moved"]["lp_s42"]
    assert _finite(moved["ghost_rate"], 0, 0.05) and len(moved["per_move"]) == 5, moved
    assert "head moved: lp_s42" in report["files"]
    assert (out / report["files"]["head moved: lp_s42"]).is_file()
    assert "## What a moved head uncovers" in text and 'id="head-moved"' in page


def test_expression_is_broken_down_per_pair_and_feature(evaluated):
    """Where the expression gain is lost: every pair's J_gen, renderers and driver re-tracked,
    per feature, in report.json and in both pages; the table's numbers are report.json's."""
    out, report, text = evaluated
    for key, pair in report["cross_reenactment"].items():
        assert set(pair["fused"]["expression_detail"]) == set(FEATURES), key
        assert set(report["temporal"][key]["driver"]["expression_detail"]) == set(FEATURES)
    assert "## Expression carried per pair and feature" in text
    warp = report["cross_reenactment"]["lp_d1__lp_s42"]["renderers"]["warp"]
    line = next(row for row in text.splitlines() if row.startswith("| lp_d1 → lp_s42 | warp |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    for name, cell in zip(FEATURES, cells[3:]):
        gain = warp["carried_detail"]["expression"][name]["gain"]
        assert cell == ("n/a" if gain is None else f"{gain:.2f}"), (name, cell, gain)
    mean = next(row for row in text.splitlines() if row.startswith("| mean over pairs | warp |"))
    expected = report["summary"]["renderers"]["warp"]["expression_gain"]
    assert f"| {expected:.3f} |" in mean
    assert 'id="carried-features"' in (out / "report.html").read_text()


def test_expression_is_broken_down_per_direction(evaluated):
    """Each feature's two directions apart (`gain_below` / `gain_above`) in every reading's
    detail; the table's warp cells over all pairs are report.json's means over the pairs."""
    from reenact_lab.metrics.expression import SIDES

    out, report, text = evaluated
    pairs = report["cross_reenactment"].values()
    for pair in pairs:
        for detail in (
            pair["fused"]["expression_detail"],
            pair["renderers"]["warp"]["carried_detail"]["expression"],
        ):
            assert all(set(SIDES) <= set(detail[name]) for name in FEATURES)
    assert "## Expression carried, each direction apart" in text
    line = next(row for row in text.splitlines() if row.startswith("| all pairs | warp |"))
    cells = [c.strip() for c in line.strip("|").split("|")][3:]
    seen = 0
    for name, cell in zip(FEATURES, cells):
        means = []
        for key in SIDES:
            values = [
                p["renderers"]["warp"]["carried_detail"]["expression"][name][key] for p in pairs
            ]
            finite = [v for v in values if v is not None]
            means.append(f"{np.mean(finite):.2f}" if finite else "n/a")
            seen += bool(finite)
        assert cell == " / ".join(means), (name, cell, means)
    assert seen >= 3  # the actors of these clips close and open their eyes and mouths
    # the unchanged portrait follows no direction; the warp follows the eyes' closing
    identity = next(row for row in text.splitlines() if row.startswith("| all pairs | identity |"))
    assert all(abs(float(v)) < 0.2 for v in re.findall(r"-?\d+\.\d+", identity))
    eye = cells[FEATURES.index("eye_left")]
    assert float(eye.split(" / ")[0]) > 0.5, eye
    assert 'id="carried-sides"' in (out / "report.html").read_text()


def test_drawn_moves_are_read_back_per_portrait(evaluated):
    """The reader's own limit on each portrait: known moves drawn on its face, re-tracked. The
    unchanged portrait reads none of them; the warp reads a shut eye and a dropped jaw."""
    out, report, text = evaluated
    found = report["move_sweep"]["lp_s42"]
    assert set(found) == set(RENDERERS)
    for label, ratio in found["identity"]["groups"].items():
        assert ratio is not None and abs(ratio) < 0.1, (label, ratio)
    warp = found["warp"]["groups"]
    assert warp["eyes closing"] > 0.4 and warp["jaw dropping"] > 0.6, warp
    assert len(found["warp"]["moves"]) == sum(len(a) for _, a in MOVES.values())
    assert "## Drawn moves read back" in text
    section = text.split("## Drawn moves read back", 1)[1]
    row = next(r for r in section.splitlines() if r.startswith("| lp_s42 | warp |"))
    assert f"| {warp['jaw dropping']:.2f} |" in row
    assert 'id="moves-read"' in (out / "report.html").read_text()


def test_markdown_table_lists_every_renderer(evaluated):
    _, _, text = evaluated
    table = [line for line in text.splitlines() if line.startswith("| ")]
    header = table[0]
    for column in (
        "self SSIM",
        "self PSNR",
        "self L1",
        "identity",
        "expression error",
        "temporal SSIM",
        "jitter",
    ):
        assert column in header
    for name in RENDERERS:
        assert any(line.startswith(f"| `{name}` |") for line in table), name
    assert any(line.startswith("| driving clip") for line in table)


def test_pictures_are_valid_pngs(evaluated):
    out, report, text = evaluated
    files = report["files"]
    # per clip: self curve + strip; per pair: cross curves + strip; per portrait: gaze and head
    # sweep strips, and the moved heads
    assert len(files) == 11
    assert {Path(p).parent.name for p in files.values()} == {"plots", "strips"}
    for path in files.values():
        assert path in text
        data = (out / path).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[0] > 100 and image.shape[1] > 300
        assert image.std() > 5  # not blank
    strip = cv2.imread(str(out / "strips" / "cross_lp_d1__lp_s42.png"))
    assert strip.shape[1] == 192 * (2 + len(RENDERERS))  # driver | target | each renderer
    assert not list(out.rglob("*.partial")), "a temporary file was left behind"


def test_resolved_config_is_written(evaluated, media_dir: Path):
    out, _, _ = evaluated
    config = load_config(out / "config.yaml")
    assert [Path(c).name for c in config.eval.clips] == list(CLIPS)
    assert config.eval.max_frames == 16 and config.calibration.neutral_frames == 4
    assert config.eval.out_dir == str(out)


@pytest.mark.parametrize("flag", ["--clips", "--portraits", "--generator"])
def test_missing_input_is_one_line_error(flag, media_dir: Path, tmp_path: Path):
    inputs = {
        "--clips": [str(media_dir / "clips" / CLIPS[0])],
        "--portraits": [str(media_dir / "portraits" / PORTRAIT)],
        "--generator": [],
    }
    missing = tmp_path / f"missing{flag.strip('-')}.bin"
    inputs[flag] = [*inputs[flag], str(missing)]
    args = [a for f, values in inputs.items() for v in values for a in (f, v)]
    result = reenact("eval", *args, "--out", str(tmp_path / "out"), "--no-progress")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("reenact: error:")]
    assert len(lines) == 1 and str(missing) in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "report.json").exists()


def test_stretch_helpers():
    assert longest_run([0, 1, 2, 5, 6, 7, 8, 10]) == (5, 9)
    assert longest_run([]) == (0, 0)
    still = np.zeros((4, 478, 3), np.float32)
    still[:, 263, 0] = still[:, 362, 0] = 64.0  # one eye 64 px from the other: IOD 64
    assert jitter_on(still, [3, 4, 5, 6], (4, 7)) == 0.0
    assert math.isnan(jitter_on(still, [3, 4, 6, 7], (4, 7)))  # frame 5 missing
    lost = still.copy()
    lost[2] = np.nan
    assert math.isnan(jitter_on(lost, [3, 4, 5, 6], (4, 7)))  # re-tracker lost the face
