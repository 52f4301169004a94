"""The generator's CPU backends agree: ONNX Runtime matches torch (CUDA: test_device_renderer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reenact.config import load_config
from reenact.engine.backends import OnnxBackend, TorchCPUBackend, export_onnx
from reenact.render.generator import GeneratorRenderer, make_backend
from reenact.nn.unet import UNetGenerator


@pytest.fixture(scope="module")
def model() -> UNetGenerator:
    torch.manual_seed(0)
    net = UNetGenerator(ngf=8, size=256)
    # non-trivial BatchNorm statistics, as a trained network has
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return net.eval()


@pytest.fixture(scope="module")
def onnx_path(model, tmp_path_factory):
    return export_onnx(model, tmp_path_factory.mktemp("onnx") / "g.onnx", channels=4, size=256)


def test_onnx_matches_torch(model, onnx_path):
    x = np.random.default_rng(0).uniform(-1, 1, (1, 4, 256, 256)).astype(np.float32)
    expected = TorchCPUBackend(model, threads=2).run(x)
    got = OnnxBackend(onnx_path, threads=2).run(x)
    assert got.shape == expected.shape == (1, 3, 256, 256)
    np.testing.assert_allclose(got, expected, atol=2e-4)
    assert np.abs(expected).mean() > 0.01  # a real output, not all zeros


def test_renderers_on_both_backends_give_the_same_crop(model, onnx_path, portraits_dir):
    from reenact.pipeline.target import prepare_target

    config = load_config(None, ["renderer.backend=torch"])
    target = prepare_target(str(portraits_dir / "lp_drv_d19.jpg"), config)
    crops = []
    for backend in ("torch", "onnx"):
        cfg = load_config(None, [f"renderer.backend={backend}"])
        r = GeneratorRenderer(
            model=model,
            meta=model.arch_meta(),
            backend=make_backend(model, cfg, onnx_path=onnx_path),
            weights=onnx_path,
        )
        r.set_target(target.crop, target.landmarks_crop)
        crops.append(r.render(target.landmarks_crop).copy())
    assert crops[0].shape == (256, 256, 3) and crops[0].dtype == np.uint8
    assert np.abs(crops[0].astype(int) - crops[1].astype(int)).max() <= 1


def test_export_is_atomic(model, tmp_path):
    path = export_onnx(model, tmp_path / "sub" / "g.onnx", channels=4, size=256)
    assert path.is_file() and not list(path.parent.glob("*.partial"))
