"""`reenact quantize` and `renderer.quantize=int8`: the INT8 CPU generator, on real faces."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from reenact.cli.main import main
from reenact.config import load_config
from reenact.engine.quantize import int8_path
from reenact.engine.shipped import shipped_weights
from reenact.landmarks.clips import track_clip
from reenact.render.generator import load_generator_renderer, shipped_onnx

pytest.importorskip("onnxruntime")
TOLERANCE = 2.0  # mean |INT8 - fp32| in 0..255 levels over the face


@pytest.fixture(scope="module")
def cache(tmp_path_factory, clips_dir) -> str:
    """An ONNX cache of its own, with the INT8 model of the shipped generator in it,
    calibrated on two clips that are not the ones the renderers are compared on."""
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REENACT_CACHE_DIR", str(root))
        clips = [clips_dir / "lp_d0.mp4", clips_dir / "lp_d5.mp4"]
        assert (
            main(["quantize", "--frames", "4", "--stride", "8", "--clips", *map(str, clips)]) == 0
        )
    assert list((root / "onnx").glob("*.int8.onnx"))
    return str(root)


def test_int8_renders_a_face_close_to_fp32(cache, clips_dir, monkeypatch):
    if shipped_weights("generator", 256) is None:
        pytest.skip("no shipped generator")
    monkeypatch.setenv("REENACT_CACHE_DIR", cache)
    config = load_config(None, ["renderer.backend=onnx", "renderer.quantize=off"])
    weights = shipped_weights("generator", 256, backend="onnx")
    fp32 = load_generator_renderer(weights, config)
    int8 = load_generator_renderer(
        weights, load_config(None, ["renderer.backend=onnx", "renderer.quantize=int8"])
    )
    assert int8.backend_name == "onnx-cpu-int8" and fp32.backend_name == "onnx-cpu"
    clip = track_clip(clips_dir / "lp_d2.mp4", "lp_d2", config, max_frames=40)
    frames = np.flatnonzero(clip.valid)
    ref, far = frames[0], frames[-1]
    outputs = {}
    for name, renderer in (("fp32", fp32), ("int8", int8)):
        renderer.set_target(clip.crops[ref], clip.landmarks_crop[ref])
        outputs[name] = [
            renderer.render(clip.landmarks_crop[t]).astype(np.float32).copy() for t in (ref, far)
        ]
    diff = [float(np.abs(a - b).mean()) for a, b in zip(outputs["fp32"], outputs["int8"])]
    assert max(diff) < TOLERANCE, diff
    # the tolerance can fail: two expressions of the same face differ by more
    assert float(np.abs(outputs["fp32"][0] - outputs["fp32"][1]).mean()) > TOLERANCE


def test_auto_runs_the_users_int8_else_the_shipped_one(cache, tmp_path, monkeypatch):
    weights = shipped_weights("generator", 256, backend="onnx")
    if weights is None:
        pytest.skip("no shipped generator")
    config = load_config(None, ["renderer.backend=onnx"])  # renderer.quantize: auto
    monkeypatch.setenv("REENACT_CACHE_DIR", cache)
    own = load_generator_renderer(weights, config).backend
    assert own.name == "onnx-cpu-int8" and own.path.is_relative_to(cache)
    monkeypatch.setenv("REENACT_CACHE_DIR", str(tmp_path))
    shipped = load_generator_renderer(weights, config).backend
    assert shipped.name == "onnx-cpu-int8" and shipped.path == int8_path(shipped_onnx(weights))


def test_auto_runs_fp32_for_weights_shipped_without_int8(tmp_path, monkeypatch):
    weights = shipped_weights("generator", 256, backend="onnx")
    if weights is None:
        pytest.skip("no shipped generator")
    models = tmp_path / "models"
    models.mkdir()
    onnx = shipped_onnx(weights).name
    for name in (weights.name, onnx):
        shutil.copy(weights.parent / name, models / name)  # shipped_onnx resolves links
    monkeypatch.setattr("reenact.render.generator.MODELS_DIR", models)
    monkeypatch.setenv("REENACT_CACHE_DIR", str(tmp_path / "cache"))
    config = load_config(None, ["renderer.backend=onnx"])
    backend = load_generator_renderer(models / weights.name, config).backend
    assert backend.name == "onnx-cpu" and backend.path == models / onnx


@pytest.mark.parametrize(
    "setting, says",
    [
        ("renderer.quantize=int4", "renderer.quantize"),
        ("renderer.quantize=int8", "renderer.quantize=int8"),
    ],
)
def test_bad_quantize_setting_is_one_line(capsys, tmp_path, clips_dir, monkeypatch, setting, says):
    monkeypatch.setenv("REENACT_CACHE_DIR", str(tmp_path / "empty-cache"))  # no INT8 model there
    weights = shipped_weights("generator", 256, backend="onnx")
    if weights is None:
        pytest.skip("no shipped generator")
    mine = tmp_path / "mine.safetensors"  # weights of the user's own: no INT8 model shipped
    shutil.copy(weights, mine)
    out = tmp_path / "out.mp4"
    code = main(
        [
            "run",
            "--source",
            f"video:{clips_dir / 'lp_d1.mp4'}",
            "--sink",
            f"file:{out}",
            "--max-frames",
            "4",
            "--renderer",
            "generator",
            "--set",
            "renderer.backend=onnx",
            "--set",
            f"renderer.weights={mine}",
            "--set",
            setting,
        ]
    )
    lines = [l for l in capsys.readouterr().err.splitlines() if l.startswith("reenact: error:")]
    assert code != 0 and len(lines) == 1 and says in lines[0], lines
    assert not out.exists()
