"""The generator's ONNX files shipped beside its weights are those weights: torch on the
safetensors and ONNX Runtime on the .onnx give the same crop (the INT8 one within its
tolerance), and the CPU renderer runs the shipped files (no torch, no export) when the cache
holds no export of its own: the INT8 one unless `renderer.quantize=off`."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.config import load_config
from reenact.engine.backends import OnnxBackend, TorchCPUBackend
from reenact.engine.quantize import int8_path
from reenact.engine.shipped import MODELS_DIR
from reenact.landmarks.landmark_image import draw_landmark_image
from reenact.render.generator import load_generator, load_generator_renderer, shipped_onnx

GENERATORS = sorted(MODELS_DIR.glob("generator_*.safetensors"))


def test_every_shipped_generator_has_its_onnx_files():
    assert GENERATORS, "no generator shipped"
    missing = [p.name for p in GENERATORS if shipped_onnx(p) is None]
    assert not missing, f"run `python scripts/export_onnx.py` for {missing}"
    missing = [p.name for p in GENERATORS if not int8_path(shipped_onnx(p)).is_file()]
    assert not missing, f"run `bash scripts/quantize_shipped.sh` for {missing}"


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
    # INT8 within the quantize tests' tolerance (mean 2 levels), which the fp32 output of a
    # blank target (another picture) is far beyond
    int8 = OnnxBackend(int8_path(onnx), threads=2, int8=True).run(x)
    assert np.abs(int8 - expected).mean() * 127.5 < 2.0, (
        "the .int8.onnx is not these weights: see scripts/quantize_shipped.sh"
    )
    blank = x.copy()
    blank[0, :3] = 0.0
    assert np.abs(TorchCPUBackend(model, threads=2).run(blank) - expected).mean() * 127.5 > 2.0


def test_the_cpu_renderer_runs_the_shipped_onnx_without_an_export(tmp_path, monkeypatch):
    for name in ("REENACT_CACHE_DIR", "REENACT_CACHE"):
        monkeypatch.setenv(name, str(tmp_path / "empty-cache"))
    weights = GENERATORS[0]
    renderer = load_generator_renderer(weights, load_config(None, ["renderer.backend=onnx"]))
    assert renderer.backend_name == "onnx-cpu-int8"  # renderer.quantize: auto
    assert renderer.backend.path == int8_path(shipped_onnx(weights))
    off = load_config(None, ["renderer.backend=onnx", "renderer.quantize=off"])
    renderer = load_generator_renderer(weights, off)
    assert renderer.backend_name == "onnx-cpu"
    assert renderer.backend.path == shipped_onnx(weights)
    assert not (tmp_path / "empty-cache").exists(), "the shipped file was exported again"
