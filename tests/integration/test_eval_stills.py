"""`reenact eval --stills`: the posed-expression protocol on the real Yale stills."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reenact.config import load_config
from reenact.errors import InputError
from reenact_lab.eval.still_sets import find_stills

REPO = Path(__file__).resolve().parents[2]


def test_default_subjects_are_held_out_of_every_training_preset():
    """The scored subjects never train: every preset whose data holds the Yale stills (named, or
    a prepared cache, which may hold them) holds them out; the others train on clips only."""
    subjects = load_config("eval", []).eval.stills_subjects
    assert subjects == ("14", "15")
    checked = 0
    for preset in sorted((REPO / "configs").glob("*.yaml")):
        train = (yaml.safe_load(preset.read_text()) or {}).get("train")
        if not train or "data" not in train:
            continue
        data = [str(d) for d in train["data"]]
        if any("expressions" in d or d.startswith("cache") for d in data):
            held = set(train.get("val_holdout", []))
            assert {f"expressions_{s}" for s in subjects} <= held, preset.name
            checked += 1
        else:
            assert all(d.endswith("clips") for d in data), (preset.name, data)
    assert checked >= 3  # train_fusion, default_fusion, default_generator


def test_find_stills_pairs_neutral_and_expressions(media_dir: Path):
    (s14, s15) = find_stills(media_dir / "expressions", ("14", "15"))
    assert s14.neutral.name == "14_normal.png"
    assert set(s14.expressions) == {"happy", "sad", "sleepy", "surprised", "wink"}
    assert "leftlight" in s14.skipped and "glasses" in s15.skipped


def test_missing_neutral_is_a_clear_error(media_dir: Path, tmp_path: Path):
    (tmp_path / "15_happy.png").symlink_to(media_dir / "expressions" / "15_happy.png")
    with pytest.raises(InputError, match="15_normal.png"):
        find_stills(tmp_path, ("15",))
    with pytest.raises(InputError, match="subject 14"):
        find_stills(tmp_path, ("14",))


def test_stills_cli_writes_a_table_per_condition(media_dir: Path, tmp_path: Path):
    out = tmp_path / "stills"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reenact.cli.main",
            "eval",
            "--stills",
            str(media_dir / "expressions"),
            "--out",
            str(out),
            "--set",
            "eval.stills_subjects=[15]",
            "--set",
            "renderer.threads=1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "stills.json").read_text())
    summary = report["summary"]
    assert {"identity", "warp", "generator:shipped"} <= set(summary)
    # the class-driven rows (reenact_lab.eval.stills_presets): what a preset / pixel-rr can do
    class_driven = {"pixel-rr linear", "warp + preset", "generator:shipped + preset"}
    assert class_driven <= set(summary)
    for name, conditions in summary.items():
        assert set(conditions) == {"happy", "sad", "sleepy", "surprised", "wink", "all"}
        for condition, values in conditions.items():
            if name in class_driven and condition == "sleepy":  # no preset / model for it
                assert values["ssim"] is None  # NaN, written as null
                continue
            assert 0.0 < values["ssim"] <= 1.0 and 5.0 < values["psnr"] < 60.0
            assert 0.3 < values["sharpness"] < 3.0
    # the warp moves the neutral face towards the expression: closer than the unchanged target
    assert summary["warp"]["all"]["ssim_face"] > summary["identity"]["all"]["ssim_face"]
    assert "| warp | happy |" in (out / "stills.md").read_text()
    assert 'id="summary"' in (out / "stills.html").read_text()
    # at rest: Yale 15's gaping and grinning stills as targets, the actor resting: the estimated
    # neutral brings the warp's mouth nearer the real neutral still than the picture's own is
    # (mouth SSIM, surprised / happy: 0.495 / 0.568 against 0.449 / 0.461 unchanged; 0.557 /
    # 0.593 before the lips were drawn band by band, `reenact.render.lip_bands`, which on
    # subjects 06, 12, 14 and 15 raised the mean of the eight from 0.547 to 0.558)
    rest = report["rest"]
    assert rest["target_neutral"] == "estimated"
    for condition in ("surprised", "happy"):
        assert (
            rest["summary"]["warp"][condition]["ssim_mouth"]
            > rest["summary"]["identity"][condition]["ssim_mouth"] + 0.03
        ), condition
    # the expression read back (reenact_lab.eval.stills_read): the warp's drawing reads much of the
    # real still's expression, the unchanged target none
    read = report["read_back"]["summary"]
    assert read["warp"]["read_gain"] > 0.5 and read["identity"]["read_gain"] == 0.0
    assert "## Expression read back" in (out / "stills.md").read_text()
    assert 'id="read_back"' in (out / "stills.html").read_text()
    assert "## At rest" in (out / "stills.md").read_text()
    assert 'id="rest"' in (out / "stills.html").read_text()
    assert (out / "strips" / "stills_15.png").is_file()
    assert "SSIM" in result.stdout
    # the shipped generator saw every Yale subject in training: flagged, not passed off as held out
    assert "generator:shipped" in report["meta"]["not_held_out"]
    assert "not held out" in (out / "stills.md").read_text()


def test_at_rest_sees_a_target_that_keeps_its_expression(media_dir: Path):
    """The at-rest measure fails a target fused from its picture's own landmarks: the warp then
    shows the picture's gape and grin unchanged, scoring exactly as the unchanged still."""
    from reenact_lab.eval.renderers import build_eval_renderers
    from reenact_lab.eval.still_sets import AlignedStills
    from reenact_lab.eval.stills import rest_scores

    config = load_config(None, ["fusion.target_neutral=picture"])
    (still,) = find_stills(media_dir / "expressions", ("15",))
    renderers = [r for r in build_eval_renderers(config, []) if r.name in ("identity", "warp")]
    rest = rest_scores(still, renderers, AlignedStills(config))
    for condition in ("surprised", "happy"):
        kept, unchanged = rest["warp"][condition], rest["identity"][condition]
        assert abs(kept["ssim_mouth"] - unchanged["ssim_mouth"]) < 0.005, condition


def test_each_still_is_tracked_and_aligned_once_per_run(
    media_dir: Path, tmp_path: Path, monkeypatch
):
    """The scores, the at-rest rows and the read back's creases rows share one alignment of
    each still (they used to track the neutral still three times and each expression twice)."""
    from collections import Counter

    import reenact_lab.eval.still_sets as still_sets
    import reenact_lab.eval.stills as stills
    from reenact_lab.eval.renderers import build_eval_renderers

    calls: Counter = Counter()
    real = still_sets.aligned_still

    def counted(path, config):
        calls[path] += 1
        return real(path, config)

    monkeypatch.setattr(still_sets, "aligned_still", counted)
    config = load_config(None, ["compose.creases=1", f"eval.out_dir={tmp_path}"])
    sets = find_stills(media_dir / "expressions", ("14", "15"))
    renderers = [r for r in build_eval_renderers(config, []) if r.name in ("identity", "warp")]
    _, rest, _, read = stills.score_every_subject(sets, renderers, renderers, config)
    assert set(rest) == {"14", "15"} and "warp + boost + creases" in read["14"]["drawn"]
    every = {s.neutral for s in sets} | {p for s in sets for p in s.expressions.values()}
    assert set(calls) == every
    assert max(calls.values()) == 1, calls.most_common(3)


def test_stills_folder_missing_is_one_line_error(tmp_path: Path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reenact.cli.main",
            "eval",
            "--stills",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "nope" in result.stderr and "Traceback" not in result.stderr


def test_scoring_every_subject_leaves_no_preset_rows(media_dir: Path, caplog):
    """Every Yale subject scored: none is left to make the '+ preset' rows from, so they are left
    out with a warning (before, the run stopped on an error about missing stills)."""
    from reenact_lab.eval.stills_presets import stills_renderers

    every = [f"{i:02d}" for i in range(1, 16)]
    config = load_config(None, [f"eval.stills_subjects={every}"])
    with caplog.at_level("WARNING"):
        names = [r.name for r in stills_renderers(config, media_dir / "expressions")]
    assert not [n for n in names if n.endswith("+ preset")], names
    assert "none is left to make presets from" in caplog.text
    one_left = load_config(None, [f"eval.stills_subjects={every[:-1]}", "pixel_rr.holdout=[]"])
    names = [r.name for r in stills_renderers(one_left, media_dir / "expressions")]
    assert "warp + preset" in names
