"""The generator's ONNX file shipped beside its weights is those weights: torch on the
safetensors and ONNX Runtime on the .onnx give the same crop, and the CPU renderer runs the
shipped file (no torch, no export) when the cache holds no export of its own."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.config import load_config
from reenact.engine.backends import OnnxBackend, TorchCPUBackend
from reenact.engine.shipped import MODELS_DIR
from reenact.landmarks.landmark_image import draw_landmark_image
from reenact.render.generator import load_generator, load_generator_renderer, shipped_onnx

GENERATORS = sorted(MODELS_DIR.glob("generator_*.safetensors"))


def test_every_shipped_generator_has_its_onnx_file():
    assert GENERATORS, "no generator shipped"
    missing = [p.name for p in GENERATORS if shipped_onnx(p) is None]
    assert not missing, f"run `python scripts/export_onnx.py` for {missing}"


@pytest.mark.parametrize("weights", GENERATORS, ids=lambda p: p.stem)
def test_the_shipped_onnx_equals_its_safetensors(weights, aligned_still, portraits_dir):
    model, meta = load_generator(weights)
    onnx = shipped_onnx(weights)
    assert onnx is not None
    crop, landmarks = aligned_still(portraits_dir / "lp_drv_d19.jpg", model.size)
    x = np.zeros((1, model.in_channels, model.size, model.size), np.float32)
    picture = crop.transpose(2, 0, 1) / 127.5 - 1.0
    x[0, :3] = picture  # the target, its landmark image, and (warp-guided) the warp: itself
    x[0, 3] = draw_landmark_image(landmarks, model.size) / 127.5 - 1.0
    x[0, 4:7] = picture[: model.in_channels - 4]
    expected = TorchCPUBackend(model, threads=2).run(x)
    got = OnnxBackend(onnx, threads=2).run(x)
    assert np.abs(expected).mean() > 0.05  # a real picture, not all zeros
    assert np.abs(got - expected).max() * 127.5 < 0.5, (
        "the .onnx is not these weights: run `python scripts/export_onnx.py`"
    )


def test_the_cpu_renderer_runs_the_shipped_onnx_without_an_export(tmp_path, monkeypatch):
    for name in ("REENACT_CACHE_DIR", "REENACT_CACHE"):
        monkeypatch.setenv(name, str(tmp_path / "empty-cache"))
    weights = GENERATORS[0]
    renderer = load_generator_renderer(weights, load_config(None, ["renderer.backend=onnx"]))
    assert renderer.backend_name == "onnx-cpu"
    assert not (tmp_path / "empty-cache").exists(), "the shipped file was exported again"
    assert renderer.backend.path == shipped_onnx(weights)
