"""The learned regions' local PatchGAN (LSGAN + feature matching), for `lab/train_local.py`.

L1 and SSIM alone settle on the mean of the mouths that could be there: a soft pink smear where
teeth or a tongue should be. A conditional PatchGAN on the mouth box (conditioned on the target's
mouth at rest and the lip contours) asks for a mouth that looks like one; matching its features
on the real mouth keeps the generator's steps steady.
"""

from __future__ import annotations

import torch
from reenact_lab.nn.patchgan import PatchDiscriminator


def make_disc(n_layers: int = 2) -> PatchDiscriminator:
    """7 channels: rest (3), contours (1), the region (3); 14 x 22 patches of the mouth's 64 x 96
    box (n_layers 2, each seeing 34 px; 3: 6 x 10 patches of 70 px)."""
    return PatchDiscriminator(in_channels=7, ndf=32, n_layers=n_layers)


def features(disc: PatchDiscriminator, x: torch.Tensor) -> list[torch.Tensor]:
    """The activations after each LeakyReLU, then the logits map."""
    found = []
    for layer in disc.net:
        x = layer(x)
        if isinstance(layer, torch.nn.LeakyReLU):
            found.append(x)
    return [*found, x]


def condition(x: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """D's input from the generator's input x (rest, warp, contours) and a region's image."""
    return torch.cat([x[:, :3], x[:, 6:7], image], 1)


def d_loss(disc, x: torch.Tensor, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    real_logits = disc(condition(x, real))
    fake_logits = disc(condition(x, fake.detach()))
    return ((real_logits - 1) ** 2).mean() + (fake_logits**2).mean()


def g_loss(
    disc, x: torch.Tensor, fake: torch.Tensor, real: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(adversarial, feature matching) terms of the generator."""
    fake_feats = features(disc, condition(x, fake))
    with torch.no_grad():
        real_feats = features(disc, condition(x, real))
    adversarial = ((fake_feats[-1] - 1) ** 2).mean()
    matching = sum((f - r).abs().mean() for f, r in zip(fake_feats[:-1], real_feats[:-1]))
    return adversarial, torch.as_tensor(matching)
