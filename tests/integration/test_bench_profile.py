"""`reenact bench --profile`: the steps inside the stages, printed and saved per row (no timing
asserts), on a real clip through the real tracker and the shipped generator on ONNX Runtime."""

from __future__ import annotations

import json

from tests.helpers import run_bench

WARP_STEPS = {
    "warp.follow",
    "warp.field",
    "warp.lip_bands",
    "warp.eyes",
    "warp.remap",
    "warp.irises",
    "warp.lids",
    "warp.mouth",
}
FUSE_STEPS = {
    "fuse.head_pose",
    "fuse.brow_rest",
    "fuse.mouth_rest",
    "fuse.fuser",
    "fuse.eyes",
    "fuse.turn",
}
COMPOSITE_STEPS = {"composite.paste", "composite.detail"}


def test_bench_profile_prints_and_saves_the_steps(clips_dir, tmp_path):
    out = tmp_path / "bench.json"
    result = run_bench(
        "--profile",
        "--source",
        f"video:{clips_dir / 'lp_d1.mp4'}",
        "--sizes",
        "256",
        "--widths",
        "shipped",
        "--backends",
        "onnx",
        "--frames",
        "8",
        "--no-live",
        "--json",
        str(out),
        cache=tmp_path / "cache",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["profile"] is True
    rows = {r["renderer"]: r for r in report["rows"]}
    warp, generator = rows["warp"], rows["generator"]
    assert WARP_STEPS | FUSE_STEPS | COMPOSITE_STEPS | {"track.landmarks"} <= set(warp["steps"])
    assert not any(name.startswith("generator.") for name in warp["steps"])
    # the generator draws on the warp's output; the multiband blend is its (the warp's is off)
    assert WARP_STEPS | FUSE_STEPS | COMPOSITE_STEPS <= set(generator["steps"])
    assert {"generator.network", "generator.output", "composite.blend"} <= set(generator["steps"])
    for row in (warp, generator):
        for name, v in row["steps"].items():
            assert 0 <= v["median_ms"] <= v["p99_ms"] and v["count"] >= 1, name
        # one call per rendered frame for the steps every frame takes
        rendered = row["stages"]["render"]["count"]
        assert row["steps"]["warp.remap"]["count"] >= rendered
        assert row["steps"]["composite.paste"]["count"] == row["stages"]["composite"]["count"]
    text = result.stdout
    assert "profile: 256 generator shipped onnx-cpu" in text and "profile: 256 warp" in text
    lines = text.splitlines()
    # every step is printed under its stage: the network under render, the detail under composite
    at = {line.split()[0]: i for i, line in enumerate(lines) if line.strip()}
    assert at["render"] < at["generator.network"] < at["composite"] < at["composite.detail"]


def test_bench_without_profile_keeps_no_steps(clips_dir, tmp_path):
    out = tmp_path / "bench.json"
    result = run_bench(
        "--source",
        f"video:{clips_dir / 'lp_d1.mp4'}",
        "--sizes",
        "256",
        "--widths",
        "shipped",
        "--backends",
        "onnx",
        "--frames",
        "6",
        "--no-live",
        "--json",
        str(out),
        cache=tmp_path / "cache",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["profile"] is False and not any("steps" in r for r in report["rows"])
    assert "profile:" not in result.stdout
