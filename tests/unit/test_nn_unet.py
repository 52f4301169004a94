"""Omega, the U-net generator: the paper's table, shape checks, the warp-guided variant, export."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from reenact.errors import ReenactError
from reenact.nn import ShapeError, UNetGenerator, num_parameters

# The paper's table at 256 (channels, side): down 1..7, bottleneck, up 1..6, output.
PAPER_DOWNS_256 = [(64, 128), (128, 64), (256, 32), (512, 16), (512, 8), (512, 4), (512, 2)]
PAPER_UPS_256 = [(512, 4), (512, 8), (512, 16), (256, 32), (128, 64), (64, 128)]
BOTTLENECK = (512, 2)
# The same code at 512: one more level on each side, bottleneck still 2x2.
DOWNS_512 = [(64, 256), (128, 128), (256, 64), (512, 32), (512, 16), (512, 8), (512, 4), (512, 2)]
UPS_512 = [(512, 4), (512, 8), (512, 16), (512, 32), (256, 64), (128, 128), (64, 256)]


def record_activations(
    model: UNetGenerator, x: torch.Tensor
) -> tuple[dict[str, list[tuple[int, ...]]], torch.Tensor]:
    """Run `model` on x with forward hooks: (shapes (C, H, W) of each down, bottleneck, up and
    the output; the output)."""
    shapes: dict[str, list[tuple[int, ...]]] = {"down": [], "bottleneck": [], "up": []}
    hooks = []
    groups = (("down", model.downs), ("bottleneck", [model.bottleneck]), ("up", model.ups))
    for key, modules in groups:
        for module in modules:
            hooks.append(
                module.register_forward_hook(
                    lambda _m, _i, out, key=key: shapes[key].append(tuple(out.shape[1:]))
                )
            )
    try:
        output = model(x)
    finally:
        for hook in hooks:
            hook.remove()
    shapes["output"] = [tuple(output.shape[1:])]
    return shapes, output


def as_table(pairs: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    return [(c, s, s) for c, s in pairs]


@pytest.fixture(scope="module")
def paper_unet() -> UNetGenerator:
    torch.manual_seed(0)
    return UNetGenerator(ngf=64, size=256).eval()


def test_paper_table_shapes_at_256(paper_unet: UNetGenerator) -> None:
    x = torch.rand(1, 4, 256, 256) * 2 - 1
    with torch.no_grad():
        shapes, y = record_activations(paper_unet, x)
    assert shapes["down"] == as_table(PAPER_DOWNS_256)
    assert shapes["bottleneck"] == as_table([BOTTLENECK])
    assert shapes["up"] == as_table(PAPER_UPS_256)
    assert y.shape == (1, 3, 256, 256)
    assert y.min() >= -1 and y.max() <= 1
    assert y.std() > 1e-3, "the output should depend on the input, not be a constant"


def test_paper_width_parameter_count(paper_unet: UNetGenerator) -> None:
    count = num_parameters(paper_unet)
    assert 50e6 <= count <= 58e6, f"Omega (ngf=64, size=256) has {count:,} parameters, not ~54 M"


def test_shapes_at_512_add_one_level() -> None:
    with torch.device("meta"):  # shapes only: no memory, no compute
        model = UNetGenerator(ngf=64, size=512).eval()
        shapes, _ = record_activations(model, torch.empty(2, 4, 512, 512))
    assert model.depth == 8
    assert shapes["down"] == as_table(DOWNS_512)
    assert shapes["bottleneck"] == as_table([BOTTLENECK])
    assert shapes["up"] == as_table(UPS_512)
    assert shapes["output"] == [(3, 512, 512)]


@pytest.mark.parametrize("ngf", [16, 32])
def test_width_scales_every_level(ngf: int) -> None:
    with torch.device("meta"):
        model = UNetGenerator(ngf=ngf, size=256)
        shapes, _ = record_activations(model, torch.empty(1, 4, 256, 256))
    scale = 64 // ngf
    assert shapes["down"] == as_table([(c // scale, s) for c, s in PAPER_DOWNS_256])
    assert shapes["up"] == as_table([(c // scale, s) for c, s in PAPER_UPS_256])


def test_wrong_input_shape_is_a_clear_error() -> None:
    model = UNetGenerator(ngf=8, size=256)
    message = r"UNetGenerator input: expected shape \(\*, 4, 256, 256\)"
    with pytest.raises(ShapeError, match=message):
        model(torch.zeros(1, 4, 512, 512))
    with pytest.raises(ReenactError, match=r"got \(1, 3, 256, 256\)"):
        model(torch.zeros(1, 3, 256, 256))


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="power of two"):
        UNetGenerator(size=300)
    with pytest.raises(ValueError, match="variant"):
        UNetGenerator(variant="resnet")


def test_trains_at_batch_one() -> None:
    """The 1x1 innermost map has no BatchNorm, so batch-1 training steps work."""
    torch.manual_seed(0)
    model = UNetGenerator(ngf=8, size=64).train()
    x = torch.rand(1, 4, 64, 64) * 2 - 1
    loss = (model(x) - x[:, :3]).abs().mean()
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.downs[0][0].weight.grad.abs().sum() > 0


def test_warp_guided_mask_range_and_blend() -> None:
    torch.manual_seed(0)
    model = UNetGenerator(ngf=8, size=64, variant="warp_guided").eval()
    assert model.in_channels == 7 and model.arch_meta()["variant"] == "warp_guided"
    x = torch.rand(2, 7, 64, 64) * 2 - 1
    with torch.no_grad():
        image, mask = model(x, return_mask=True)
        assert torch.equal(image, model(x))
        assert mask.shape == (2, 1, 64, 64)
        assert mask.min() >= 0 and mask.max() <= 1
        assert image.min() >= -1 and image.max() <= 1
        head = model.output[1]
        head.weight[:, 3].zero_()  # the mask channel of the last layer ...
        head.bias[3] = 60.0  # ... saturated: M = 1
        image_m1, mask_m1 = model(x, return_mask=True)
        head.bias[3] = -60.0  # M = 0: the colour branch only
        image_m0 = model(x)
    assert torch.all(mask_m1 == 1)
    assert torch.equal(image_m1, x[:, 4:7]), "with M = 1 the output must be the warp"
    assert (image_m0 - x[:, 4:7]).abs().mean() > 0.1, "with M = 0 the output is C, not the warp"


def test_paper_variant_has_no_mask() -> None:
    model = UNetGenerator(ngf=4, size=32).eval()
    image, mask = model(torch.zeros(1, 4, 32, 32), return_mask=True)
    assert mask is None and image.shape == (1, 3, 32, 32)


def test_channels_last_matches_contiguous() -> None:
    torch.manual_seed(0)
    model = UNetGenerator(ngf=8, size=64).eval()
    x = torch.rand(2, 4, 64, 64) * 2 - 1
    with torch.no_grad():
        reference = model(x)
        model_cl = model.to(memory_format=torch.channels_last)
        result = model_cl(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(result, reference, atol=1e-5, rtol=1e-5)


def test_dropout_changes_no_weights() -> None:
    plain, with_dropout = UNetGenerator(ngf=4, size=32), UNetGenerator(ngf=4, size=32, dropout=0.5)
    assert plain.state_dict().keys() == with_dropout.state_dict().keys()
    assert plain.arch_meta() == with_dropout.arch_meta()


@pytest.mark.parametrize("variant", ["paper", "warp_guided"])
def test_onnx_export_matches_torch(variant: str, tmp_path) -> None:
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = UNetGenerator(ngf=8, size=64, variant=variant).eval()
    x = torch.rand(3, model.in_channels, 64, 64) * 2 - 1
    path = tmp_path / f"unet_{variant}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (x[:1],),
            str(path),
            dynamo=False,
            input_names=["x"],
            output_names=["image"],
            dynamic_axes={"x": {0: "batch"}, "image": {0: "batch"}},
        )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (result,) = session.run(None, {"x": x.numpy()})  # batch 3 through a batch-1 export
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(result, expected, atol=1e-5)


def test_warp_guided_starts_from_the_warp():
    """An untrained warp-guided generator mostly passes the warp through (mask ~ 0.88)."""
    torch.manual_seed(0)
    net = UNetGenerator(ngf=8, size=64, variant="warp_guided").eval()
    x = torch.rand(2, 7, 64, 64) * 2 - 1
    image, mask = net(x, return_mask=True)
    assert 0.8 < float(mask.mean()) < 0.95
    assert float((image - x[:, -3:]).abs().mean()) < 0.2
