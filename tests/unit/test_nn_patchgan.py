"""The Markov (PatchGAN) discriminator: 70x70 layout, spectral norm, 30x30 / 62x62 maps."""

from __future__ import annotations

import pytest
import torch

from reenact.nn import ShapeError
from reenact_lab.nn.patchgan import PatchDiscriminator, patch_map_side


@pytest.mark.parametrize(("size", "side"), [(256, 30), (512, 62)])
def test_output_map_side(size: int, side: int) -> None:
    disc = PatchDiscriminator(ndf=8)
    out = disc(torch.rand(2, 6, size, size) * 2 - 1)
    assert out.shape == (2, 1, side, side)
    assert patch_map_side(size) == side


def test_paper_width_map_at_256() -> None:
    disc = PatchDiscriminator().eval()
    with torch.no_grad():
        out = disc(torch.rand(1, 6, 256, 256) * 2 - 1)
    assert out.shape == (1, 1, 30, 30)


def test_layout_spectral_norm_no_batchnorm() -> None:
    disc = PatchDiscriminator()
    convs = [m for m in disc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1]
    assert all(c.kernel_size == (4, 4) and c.padding == (1, 1) for c in convs)
    spectral = [hasattr(c, "parametrizations") and "weight" in c.parametrizations for c in convs]
    assert spectral == [False, True, True, True, False], "spectral norm on the down-sampling convs"
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in disc.modules())
    slopes = {m.negative_slope for m in disc.modules() if isinstance(m, torch.nn.LeakyReLU)}
    assert slopes == {0.2}


def test_spectral_norm_bounds_the_weights() -> None:
    disc = PatchDiscriminator(ndf=8).train()
    x = torch.rand(2, 6, 64, 64)
    for _ in range(5):  # power iteration runs on each training forward
        disc(x)
    for conv in [m for m in disc.modules() if isinstance(m, torch.nn.Conv2d)][1:4]:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert sigma < 1.1, f"spectral norm not applied: sigma {sigma:.2f}"


def test_sigmoid_output_gives_probabilities() -> None:
    torch.manual_seed(0)
    logits_disc = PatchDiscriminator(ndf=8).eval()
    torch.manual_seed(0)
    prob_disc = PatchDiscriminator(ndf=8, sigmoid_output=True).eval()
    x = torch.rand(1, 6, 64, 64) * 2 - 1
    with torch.no_grad():
        probs = prob_disc(x)
        torch.testing.assert_close(probs, torch.sigmoid(logits_disc(x)))
    assert probs.min() >= 0 and probs.max() <= 1


def test_wrong_channels_is_a_clear_error() -> None:
    message = r"PatchDiscriminator input: expected shape \(\*, 6, \*, \*\)"
    with pytest.raises(ShapeError, match=message):
        PatchDiscriminator(ndf=8)(torch.zeros(1, 3, 64, 64))
