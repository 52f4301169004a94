"""The sub-pixel form of the U-net's transposed convolutions is the same function."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reenact.nn.subpixel import SubPixelUp, subpixel_model
from reenact.nn.unet import UNetGenerator


def _random_norm(channels: int) -> nn.BatchNorm2d:
    norm = nn.BatchNorm2d(channels).eval()
    with torch.no_grad():
        norm.running_mean.uniform_(-0.5, 0.5)
        norm.running_var.uniform_(0.5, 2.0)
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.3, 0.3)
    return norm


@pytest.mark.parametrize("bias", [False, True])
def test_subpixel_up_equals_transposed_conv(bias: bool) -> None:
    torch.manual_seed(0)
    tconv = nn.ConvTranspose2d(6, 5, 4, stride=2, padding=1, bias=bias)
    norm = _random_norm(5)
    x = torch.randn(2, 6, 7, 9)
    with torch.no_grad():
        torch.testing.assert_close(SubPixelUp(tconv)(x), tconv(x), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(SubPixelUp(tconv, norm)(x), norm(tconv(x)), atol=1e-5, rtol=1e-5)
        wrong = SubPixelUp(nn.ConvTranspose2d(6, 5, 4, stride=2, padding=1, bias=bias))(x)
    assert (wrong - tconv(x)).abs().max() > 0.01  # the comparison can fail


@pytest.mark.parametrize("variant", ["paper", "warp_guided", "attention"])
def test_subpixel_unet_equals_unet(variant: str) -> None:
    torch.manual_seed(1)
    model = UNetGenerator(ngf=8, size=64, variant=variant).eval()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.load_state_dict(_random_norm(module.num_features).state_dict())
    rewritten = subpixel_model(model)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in rewritten.modules())
    assert any(isinstance(m, nn.ConvTranspose2d) for m in model.modules())  # not changed
    x = torch.rand(1, model.in_channels, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(rewritten(x), model(x), atol=1e-5, rtol=1e-4)
