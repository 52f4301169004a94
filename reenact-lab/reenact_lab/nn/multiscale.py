"""pix2pixHD's multi-scale discriminator: PatchGANs on the image and on its down-sampled copies,
each returning its intermediate features for the feature-matching loss.

    scale 0: D_0(x)                  (a 70x70 PatchGAN at 256: 30x30 map)
    scale k: D_k(avgpool^k(x))       (3x3, stride 2, pad 1, padding not counted; as pix2pixHD)

`forward(pair)` returns, per scale, the list of its features after each LeakyReLU followed by the
final score map (logits): [[f_1, ..., f_n, score], ...].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reenact_lab.nn.patchgan import PatchDiscriminator
from reenact.nn.registry import register


def patch_features(disc: PatchDiscriminator, pair: torch.Tensor) -> list[torch.Tensor]:
    """The outputs of every LeakyReLU of `disc` and its final map, in order (no sigmoid)."""
    features: list[torch.Tensor] = []
    h = pair
    for layer in disc.net:
        if isinstance(layer, nn.Sigmoid):
            break
        h = layer(h)
        if isinstance(layer, nn.LeakyReLU):
            features.append(h)
    features.append(h)
    return features


@register("multiscale_patchgan")
class MultiScaleDiscriminator(nn.Module):
    """`scales` PatchGANs of the same layout, on the pair at 1, 1/2, ... resolution.

    Args: in_channels, ndf, n_layers as `PatchDiscriminator`; scales >= 1.
    """

    def __init__(
        self, *, in_channels: int = 6, ndf: int = 64, n_layers: int = 3, scales: int = 2
    ) -> None:
        super().__init__()
        if scales < 1:
            raise ValueError(f"scales must be >= 1, got {scales}")
        self.in_channels, self.ndf, self.n_layers, self.scales = in_channels, ndf, n_layers, scales
        self.discs = nn.ModuleList(
            PatchDiscriminator(in_channels=in_channels, ndf=ndf, n_layers=n_layers)
            for _ in range(scales)
        )

    def arch_meta(self) -> dict[str, str | int]:
        return {
            "arch": "multiscale_patchgan",
            "in_channels": self.in_channels,
            "ndf": self.ndf,
            "n_layers": self.n_layers,
            "scales": self.scales,
        }

    def forward(self, pair: torch.Tensor) -> list[list[torch.Tensor]]:
        """pair: (B, in_channels, H, W) in [-1,1] -> per scale [features..., (B,1,h,w) logits]."""
        out = []
        for k, disc in enumerate(self.discs):
            if k:
                pair = F.avg_pool2d(pair, 3, stride=2, padding=1, count_include_pad=False)
            out.append(patch_features(disc, pair))
        return out
