"""`renderer.kind: auto` picks the shipped GPU model on CUDA and the CPU model elsewhere, and
falls back to the single shipped generator when the backend's own is absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import reenact.engine.shipped as shipped
from reenact.config import Config, replace
from reenact.render import build_renderer, resolve_renderer_kind

SHIPPED = shipped.MODELS_DIR / "generator_256.safetensors"


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if not SHIPPED.is_file():
        pytest.skip("no shipped generator")
    monkeypatch.setattr(shipped, "MODELS_DIR", tmp_path)
    shutil.copy(SHIPPED, tmp_path / "generator_256.safetensors")
    return tmp_path


def test_backend_picks_its_width(models: Path):
    assert (
        shipped.shipped_weights("generator", 256, backend="cuda").name
        == "generator_256.safetensors"
    )  # no GPU model shipped: the single one
    shutil.copy(SHIPPED, models / "generator_256_gpu.safetensors")
    assert (
        shipped.shipped_weights("generator", 256, backend="cuda").name
        == "generator_256_gpu.safetensors"
    )
    for backend in ("onnx", "torch"):
        assert (
            shipped.shipped_weights("generator", 256, backend=backend).name
            == "generator_256.safetensors"
        )
    shutil.copy(SHIPPED, models / "generator_256_cpu.safetensors")
    assert (
        shipped.shipped_weights("generator", 256, backend="onnx").name
        == "generator_256_cpu.safetensors"
    )
    assert shipped.shipped_weights("generator", 512, backend="cuda") is None


def test_auto_renderer_on_this_cpu_loads_the_cpu_model(models: Path):
    shutil.copy(SHIPPED, models / "generator_256_gpu.safetensors")
    shutil.copy(SHIPPED, models / "generator_256_cpu.safetensors")
    # no sink: this runs on GPU boxes too, which may lack PyAV and pyvirtualcam (the default sinks')
    config = replace(Config(), renderer={"kind": "auto", "backend": "torch"}, sink={"kind": "null"})
    assert resolve_renderer_kind(config) == "generator"
    renderer = build_renderer(config)
    assert Path(renderer.weights).name == "generator_256_cpu.safetensors"
    explicit = replace(config, renderer={"weights": str(models / "generator_256_gpu.safetensors")})
    assert Path(build_renderer(explicit).weights).name == "generator_256_gpu.safetensors"
