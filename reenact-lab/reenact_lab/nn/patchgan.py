"""The Markov (PatchGAN) discriminator of the paper, pix2pix's 70x70 layout with spectral norm.

    input conv 4x4 s2 + LeakyReLU(0.2)                      (no normalisation)
    n_layers - 1 convs 4x4 s2, spectral norm, LeakyReLU(0.2)  (spectral norm replaces BatchNorm)
    one conv 4x4 s1, spectral norm, LeakyReLU(0.2)
    output conv 4x4 s1 -> 1 channel                         (sigmoid when `sigmoid_output`)

All convs pad by 1. With n_layers=3 a 256x256 input gives a 30x30 map (each cell sees a 70x70
patch); 512x512 gives 62x62. The input is the pair cat([P_t, image], dim=1): the target image
that conditions the generator and a real (I_o) or generated (I_gen) image.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from reenact.nn.common import check_shape, init_gan_weights
from reenact.nn.registry import register


def patch_map_side(size: int, n_layers: int = 3) -> int:
    """Side of the output map for a `size` input: halved n_layers times, then -1 twice."""
    side = size
    for _ in range(n_layers):
        side = (side + 2 - 4) // 2 + 1
    return side - 2


def _conv(in_ch: int, out_ch: int, stride: int, *, spectral: bool) -> nn.Module:
    conv = nn.Conv2d(in_ch, out_ch, 4, stride=stride, padding=1, bias=True)
    init_gan_weights(conv)  # before spectral_norm, so its power iteration sees the final weight
    return spectral_norm(conv) if spectral else conv


@register("patchgan")
class PatchDiscriminator(nn.Module):
    """D(P_t, I): a map of per-patch real/fake scores.

    Args:
        in_channels: channels of the pair (6 = target RGB + real/generated RGB).
        ndf: width of the first conv.
        n_layers: strided down-sampling convs after the input conv are n_layers - 1 (3 -> 70x70).
        sigmoid_output: end with a sigmoid, as the paper (probabilities); False returns logits,
            to use with BCE-with-logits (numerically safer, same optimum).
    """

    def __init__(
        self,
        *,
        in_channels: int = 6,
        ndf: int = 64,
        n_layers: int = 3,
        sigmoid_output: bool = False,
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        self.in_channels, self.ndf, self.n_layers = in_channels, ndf, n_layers
        self.sigmoid_output = sigmoid_output
        layers: list[nn.Module] = [_conv(in_channels, ndf, 2, spectral=False), nn.LeakyReLU(0.2)]
        channels = ndf
        for i in range(1, n_layers + 1):
            stride = 2 if i < n_layers else 1
            out = ndf * min(2**i, 8)
            layers += [_conv(channels, out, stride, spectral=True), nn.LeakyReLU(0.2)]
            channels = out
        layers.append(_conv(channels, 1, 1, spectral=False))
        if sigmoid_output:
            layers.append(nn.Sigmoid())
        self.net = nn.Sequential(*layers)

    def arch_meta(self) -> dict[str, str | int]:
        """What fixes the weights' shapes; stored with the weights and checked on load."""
        return {
            "arch": "patchgan",
            "in_channels": self.in_channels,
            "ndf": self.ndf,
            "n_layers": self.n_layers,
        }

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        """pair: (B, in_channels, H, W) in [-1,1] -> (B, 1, h, w) logits, or probabilities in
        [0,1] with `sigmoid_output` (h = w = 30 for H = W = 256)."""
        check_shape(pair, (None, self.in_channels, None, None), "PatchDiscriminator input")
        return self.net(pair)
