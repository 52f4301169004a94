"""`reenact eval --avatar`: the personal generator's row is measured, not copied.

Test avatars are made from the shipped generator (`write_avatar`): one with its very weights (the
personal row must then equal the shipped row), one with every weight perturbed by 5 % (exported
to ONNX again: the personal row must then differ). The real tracker, PyAV, ONNX Runtime and dlib
run, on a few frames of real clips.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reenact.config import load_config
from reenact_lab.eval.avatar_eval import PERSONAL, SHIPPED, run_avatar_eval
from reenact_lab.eval.avatar_tail import file_sha256

CLIP, ACTOR = "lp_d1.mp4", "lp_d2.mp4"  # 16 frames each
SELF_KEYS = ("ssim", "ssim_face", "psnr", "ssim_mouth", "sharpness_ratio", "seam")
FAST = [
    "calibration.neutral_frames=4",
    "eval.still_frames=8",
    "eval.strip_frames=2",
    "eval.max_frames=6",
    "eval.progress=false",
    "renderer.threads=1",
]


def make_avatar(
    path: Path, picture: np.ndarray, *, perturb: float = 0.0, manifest: dict | None = None
) -> Path:
    """An avatar holding the shipped generator, or one with its weights scaled by 1 + perturb x
    N(0, 1) (seeded) and exported to ONNX again."""
    import safetensors.numpy

    from reenact.engine.arrays import read_meta
    from reenact.engine.shipped import shipped_weights
    from reenact_lab.avatar_file import write_avatar

    weights_path = shipped_weights("generator", 256)
    meta = read_meta(weights_path)
    if perturb:
        import torch

        from reenact.engine.backends import export_onnx
        from reenact.render.generator import load_generator

        model, _ = load_generator(weights_path)
        noise = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(1 + perturb * torch.randn(p.shape, generator=noise))
        onnx_path = export_onnx(
            model, path.with_suffix(".onnx"), channels=model.in_channels, size=model.size
        )
        onnx = onnx_path.read_bytes()
        arrays = {k: v.numpy() for k, v in model.state_dict().items()}
    else:
        onnx = weights_path.with_suffix(".onnx").read_bytes()
        arrays = safetensors.numpy.load_file(str(weights_path))
    weights = {
        k: v.astype(np.float16) if np.issubdtype(v.dtype, np.floating) else v
        for k, v in arrays.items()
    }
    return write_avatar(
        path,
        picture=picture,
        neutral=None,
        generator_onnx=onnx,
        generator_weights=weights,
        generator_meta=meta,
        manifest=manifest or {"source_clips": []},
    )


@pytest.fixture(scope="module")
def picture(media_dir: Path) -> np.ndarray:
    from reenact.video import read_frames

    return next(iter(read_frames(media_dir / "clips" / CLIP, 1)))


@pytest.fixture(scope="module")
def avatars(tmp_path_factory, picture: np.ndarray, media_dir: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("avatars")
    clip = media_dir / "clips" / CLIP
    # as `reenact avatar train` records a clip: its name, hash and length (the tail: its last 20 %)
    manifest = {"source_clips": [{"name": clip.stem, "sha256": file_sha256(clip), "frames": 16}]}
    return {
        "same": make_avatar(folder / "same.avatar", picture, manifest=manifest),
        "perturbed": make_avatar(folder / "perturbed.avatar", picture, perturb=0.05),
    }


def evaluate(avatar: Path, out: Path, media_dir: Path, *, actors=(), extra=()) -> dict:
    config = load_config(
        None, [*FAST, *extra, f"eval.out_dir={out}", f"eval.clips=[{media_dir / 'clips' / CLIP}]"]
    )
    return run_avatar_eval(config, str(avatar), actors=[media_dir / "clips" / a for a in actors])


def rows(report: dict, name: str) -> list[dict]:
    return [run["renderers"][name] for run in report["self_reenactment"]]


def test_same_weights_give_the_shipped_row(avatars, tmp_path, media_dir):
    # "auto" lets an avatar draw its own eyes and mouth where the shipped one gets the warp's:
    # the network's own for both, so that only the weights could differ
    report = evaluate(
        avatars["same"],
        tmp_path,
        media_dir,
        extra=["renderer.eyes=network", "renderer.mouth=network", "renderer.quantize=off"],
    )  # and fp32 for both: the shipped generator's INT8 model is not these weights' export
    runs = report["self_reenactment"]
    # the clip from the avatar's picture and its reference frame; the tail from both
    assert [(r["clip"], r["source"]) for r in runs] == [
        ("lp_d1", "avatar picture"),
        ("lp_d1", "clip reference"),
        ("lp_d1_tail", "avatar picture"),
        ("lp_d1_tail", "clip reference"),
    ]
    assert runs[2]["first_frame"] == 13 and runs[2]["last_frame"] == 15
    assert "measured on all 1" in report["meta"]["tail_note"]
    for mine, shipped in zip(rows(report, PERSONAL), rows(report, SHIPPED)):
        for key in SELF_KEYS:
            assert mine[key] == pytest.approx(shipped[key], abs=1e-9), key
    # and the measure can tell renderers apart: the warp is not the shipped generator
    assert any(
        abs(w["ssim"] - s["ssim"]) > 1e-4
        for w, s in zip(rows(report, "warp"), rows(report, SHIPPED))
    )


def test_other_weights_give_another_row(avatars, tmp_path, media_dir):
    report = evaluate(avatars["perturbed"], tmp_path, media_dir, actors=[ACTOR])
    assert "cannot be found" in report["meta"]["tail_note"]
    for mine, shipped in zip(rows(report, PERSONAL), rows(report, SHIPPED)):
        assert abs(mine["ssim"] - shipped["ssim"]) > 1e-4
        assert abs(mine["psnr"] - shipped["psnr"]) > 1e-3
    cross = report["cross_reenactment"]["lp_d2"]["renderers"]
    assert set(cross) == {"identity", "warp", SHIPPED, PERSONAL}
    assert cross[PERSONAL]["frames_rendered"] > 0
    assert cross[PERSONAL]["identity_distance"] != cross[SHIPPED]["identity_distance"]
    written = json.loads((tmp_path / "avatar.json").read_text())
    assert written["files"] and all((tmp_path / p).is_file() for p in written["files"].values())
    text = (tmp_path / "avatar.md").read_text()
    assert "| lp_d1 | avatar picture | personal generator |" in text
    assert "| lp_d2 | personal generator |" in text


def test_a_moved_clip_is_not_taken_for_the_tail(tmp_path, picture, media_dir):
    clip = media_dir / "clips" / CLIP
    avatar = make_avatar(
        tmp_path / "moved.avatar",
        picture,
        manifest={
            "source_clips": [{"path": str(clip), "sha256": "0" * 64, "frames_val": [10, 16]}]
        },
    )
    report = evaluate(avatar, tmp_path / "out", media_dir)
    assert [r["clip"] for r in report["self_reenactment"]] == ["lp_d1", "lp_d1"]
    assert "differs from the one trained on" in report["meta"]["tail_note"]


def test_a_damaged_avatar_is_one_line(tmp_path, media_dir):
    bad = tmp_path / "bad.avatar"
    bad.write_bytes(b"not a zip at all")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reenact.cli.main",
            "eval",
            "--avatar",
            str(bad),
            "--clips",
            str(media_dir / "clips" / CLIP),
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(bad) in lines[0], result.stderr
    assert not (tmp_path / "out" / "avatar.json").exists()
