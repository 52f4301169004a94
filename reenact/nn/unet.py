"""Omega, the expression-transfer U-net generator (Fan et al. 2023, table of the modified U-net).

At `size=256, ngf=64` the activations are exactly the paper's table:

    input                          (B,   4, 256, 256)  target RGB + landmark image of J_gen
    down 1..7 (conv 4x4 s2)        128^2x64, 64^2x128, 32^2x256, 16^2x512, 8^2x512, 4^2x512, 2^2x512
    bottleneck                     2^2x512
    up 1..6 (tconv 4x4 s2, skips)  4^2x512, 8^2x512, 16^2x512, 32^2x256, 64^2x128, 128^2x64
    output (ReLU, tconv, tanh)     (B,   3, 256, 256)

Layer order follows pix2pix (the U-net the paper modified): a down block is LeakyReLU(0.2) ->
conv -> BatchNorm (the first is a bare conv), an up block is ReLU -> transposed conv ->
BatchNorm, so every skip carries a down block's normalised output and the ReLU of an up block
acts on the concatenation [skip, previous]. The bottleneck is pix2pix's innermost block: it
squeezes the 2x2 map to 1x1 (conv 4x4 s2, no norm) and expands it back (transposed conv,
BatchNorm), giving the table's 2^2x512; up 1 then sees [down 7, bottleneck] = 1024 channels.
This gives ~54.4 M parameters at the paper's width, as pix2pix's `unet_256`.

Depth follows the size: `log2(size) - 1` down blocks, so the bottleneck is 2x2 at every size
(512 adds one level). Channels are `ngf * min(2**i, 8)`. No pooling anywhere.

`variant="warp_guided"` additionally takes the training-free warp of the target as input and
predicts a colour image C (tanh) and an attention mask M (sigmoid) from the same last layer,
returning `M * warped + (1 - M) * C` (GANimation / LGP-GAN attention blending).

`variant="attention"` takes the paper's 4 channels and blends C with the target image itself:
`(1 - M) * C + M * P_t` (GANimation, LGP-GAN): where nothing moves (hair, background, skin
texture) the network can keep the input's own pixels instead of repainting them soft.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from reenact.nn.common import check_shape, check_size, init_gan_weights
from reenact.nn.registry import register

VARIANTS = ("paper", "warp_guided", "attention")
MASKED = ("warp_guided", "attention")  # variants that output an attention mask
WARP_CHANNELS = 3  # the warped target RGB is the last 3 input channels of "warp_guided"
_DROPOUT_UPS = 3  # like pix2pix: dropout (when enabled) in the bottleneck and first 2 ups


def level_channels(ngf: int, depth: int) -> list[int]:
    """Channels of each down level: ngf * min(2**i, 8) for i in 0..depth-1."""
    return [ngf * min(2**i, 8) for i in range(depth)]


def _down_block(in_ch: int, out_ch: int, *, first: bool) -> nn.Sequential:
    """(B,in_ch,H,W) -> (B,out_ch,H/2,W/2). The first block has no activation before and no BN."""
    if first:
        return nn.Sequential(nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1, bias=True))
    return nn.Sequential(
        nn.LeakyReLU(0.2),
        nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
    )


def _up_block(in_ch: int, out_ch: int, *, dropout: float) -> nn.Sequential:
    """(B,in_ch,H,W) -> (B,out_ch,2H,2W): ReLU, transposed conv 4x4 s2, BatchNorm[, Dropout]."""
    layers: list[nn.Module] = [
        nn.ReLU(),
        nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
    ]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def _flag(value: bool | torch.Tensor) -> bool:
    """A Python bool from a flag the legacy ONNX exporter may have turned into a constant tensor
    (it passes forward's defaults as tensors); read without a TracerWarning."""
    if isinstance(value, torch.Tensor):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            return bool(value.item())
    return bool(value)


WARP_MASK_INIT_LOGIT = 2.0


class Bottleneck(nn.Module):
    """(B,C,2,2) -> (B,C,2,2): squeeze to 1x1 (LeakyReLU, conv 4x4 s2) and expand back
    (ReLU, transposed conv 4x4 s2, BatchNorm[, Dropout]). No norm at 1x1 (batch-1 safe)."""

    def __init__(self, *, channels: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.squeeze = nn.Sequential(
            nn.LeakyReLU(0.2), nn.Conv2d(channels, channels, 4, stride=2, padding=1, bias=True)
        )
        self.expand = _up_block(channels, channels, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.expand(self.squeeze(x))


@register("unet")
class UNetGenerator(nn.Module):
    """Omega: I_gen = Omega(P_t, image(J_gen)).

    Args:
        in_channels: input channels; None = the variant's default (4 for "paper": target RGB +
            landmark image; 7 for "warp_guided": + the warped target RGB as the last 3).
        out_channels: output image channels (3).
        ngf: width of the first level (64 = the paper; 32 / 16 = lite).
        size: input side, a power of two >= 8; depth = log2(size) - 1 (256 -> 7 downs).
        variant: "paper" or "warp_guided".
        dropout: pix2pix-style dropout in the innermost up blocks (0 = off, as the paper says
            nothing of it); it changes no weights, so it is not part of `arch_meta`.
    """

    def __init__(
        self,
        *,
        in_channels: int | None = None,
        out_channels: int = 3,
        ngf: int = 64,
        size: int = 256,
        variant: str = "paper",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown U-net variant {variant!r}; valid: {', '.join(VARIANTS)}")
        if in_channels is None:
            in_channels = 4 + (WARP_CHANNELS if variant == "warp_guided" else 0)
        if variant in MASKED and (out_channels != WARP_CHANNELS or in_channels <= 3):
            raise ValueError(f"{variant} needs out_channels=3 and at least 4 input channels")
        if ngf < 1:
            raise ValueError(f"ngf must be >= 1, got {ngf}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.ngf, self.size, self.variant = ngf, size, variant
        self.depth = check_size(size, minimum=8) - 1
        channels = level_channels(ngf, self.depth)
        self.downs = nn.ModuleList(
            _down_block(c_in, c_out, first=i == 0)
            for i, (c_in, c_out) in enumerate(zip([in_channels, *channels[:-1]], channels))
        )
        self.bottleneck = Bottleneck(channels=channels[-1], dropout=dropout)
        n_dropout = _DROPOUT_UPS - 1  # the bottleneck is the first of the dropout blocks
        self.ups = nn.ModuleList(  # level depth-1 .. 1: [skip, previous] -> the level above
            _up_block(2 * channels[i], channels[i - 1], dropout=dropout if k < n_dropout else 0.0)
            for k, i in enumerate(range(self.depth - 1, 0, -1))
        )
        head_out = out_channels + (1 if variant in MASKED else 0)
        self.output = nn.Sequential(
            nn.ReLU(), nn.ConvTranspose2d(2 * channels[0], head_out, 4, stride=2, padding=1)
        )
        init_gan_weights(self)
        if variant == "warp_guided":
            with torch.no_grad():  # start from the warp (M ~ 0.88) and learn where to repaint
                self.output[1].bias[out_channels:].fill_(WARP_MASK_INIT_LOGIT)

    def arch_meta(self) -> dict[str, str | int]:
        """What fixes the weights' shapes; stored with the weights and checked on load."""
        return {
            "arch": "unet",
            "variant": self.variant,
            "ngf": self.ngf,
            "size": self.size,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
        }

    def forward(
        self, x: torch.Tensor, return_mask: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        """x: (B, in_channels, size, size) float in [-1,1] -> (B, out_channels, size, size) in
        [-1,1].

        With `return_mask`, returns (image, mask): mask (B,1,size,size) in [0,1] is the weight of
        the warped input ("warp_guided") or of the target P_t ("attention"), None for "paper".
        """
        check_shape(x, (None, self.in_channels, self.size, self.size), "UNetGenerator input")
        skips: list[torch.Tensor] = []
        h = x
        for down in self.downs:
            h = down(h)
            skips.append(h)
        h = self.bottleneck(h)
        for up, skip in zip(self.ups, skips[:0:-1]):
            h = up(torch.cat([skip, h], dim=1))
        h = self.output(torch.cat([skips[0], h], dim=1))
        return_mask = _flag(return_mask)
        if self.variant == "paper":
            image = torch.tanh(h)
            return (image, None) if return_mask else image
        colour = torch.tanh(h[:, : self.out_channels])
        mask = torch.sigmoid(h[:, self.out_channels :])
        kept = x[:, -WARP_CHANNELS:] if self.variant == "warp_guided" else x[:, :WARP_CHANNELS]
        image = mask * kept + (1.0 - mask) * colour
        return (image, mask) if return_mask else image
