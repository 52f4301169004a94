"""Losses that see detail, on top of the paper's cGAN + L1 (`reenact_lab.nn.losses`):

    feature_matching   lambda_fm * sum over scales, mean over layers of
                       || D_k^(i)(P_t, I_gen) - D_k^(i)(P_t, I_o) ||_1       (pix2pixHD, lambda 10)
    multiscale_gan     mean over scales of GAN(D_k(P_t, I_gen) -> real)     (and D's side)
    local_gan          mu_local * mean over regions of GAN(D_r(P_t, I_gen)_r -> real)  (LGP-GAN)
    regions_l1         mu_l1_regions * mean over regions of || I_gen_r - I_o_r ||_1, the eye and
                       mouth crops cut as the local Ds cut them (an addition: the expression a
                       viewer and the eval read lives there, a few % of the crop's pixels)

Discriminator outputs are logits (BCE-with-logits). All return scalar tensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reenact_lab.nn.local import LocalDiscriminators
from reenact_lab.nn.losses import discriminator_loss, gan_loss


def feature_matching(
    fake: list[list[torch.Tensor]], real: list[list[torch.Tensor]], *, weight: float = 10.0
) -> torch.Tensor:
    """fake / real: per scale [features..., score] (`MultiScaleDiscriminator`); the real ones are
    detached here. The final score maps are not matched (pix2pixHD)."""
    total = fake[0][0].new_zeros(())
    for fake_scale, real_scale in zip(fake, real):
        layers = list(zip(fake_scale[:-1], real_scale[:-1]))
        for f, r in layers:
            total = total + F.l1_loss(f, r.detach()) / len(layers)
    return weight * total


def multiscale_generator(fake: list[list[torch.Tensor]], *, weight: float = 1.0) -> torch.Tensor:
    """weight * mean over scales of BCE(D_k(P_t, I_gen) -> real)."""
    return weight * sum(gan_loss(scale[-1], True) for scale in fake) / len(fake)


def multiscale_discriminator(
    real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]
) -> torch.Tensor:
    """Mean over scales of 0.5 * (BCE(real -> 1) + BCE(fake -> 0)) (fake detached by caller)."""
    return sum(discriminator_loss(r[-1], f[-1]) for r, f in zip(real, fake)) / len(real)


def local_generator(fake: dict[str, torch.Tensor], *, weight: float = 1.0) -> torch.Tensor:
    """weight * mean over regions of BCE(D_r(region of (P_t, I_gen)) -> real)."""
    return weight * sum(gan_loss(v, True) for v in fake.values()) / len(fake)


def local_discriminator(
    real: dict[str, torch.Tensor], fake: dict[str, torch.Tensor]
) -> torch.Tensor:
    """Mean over regions of D_r's 0.5 * (BCE(real -> 1) + BCE(fake -> 0))."""
    return sum(discriminator_loss(real[k], fake[k]) for k in real) / len(real)


def regions_l1(
    generated: torch.Tensor, real: torch.Tensor, landmarks: torch.Tensor, *, weight: float = 100.0
) -> torch.Tensor:
    """weight * mean over the eye and mouth regions of L1(I_gen's crop, I_o's crop).

    generated, real: (B,3,S,S) in [-1,1]; landmarks: (B,478,2) I_o's, crop pixels (the boxes of
    `reenact_lab.nn.local.region_boxes`, the same for both images)."""
    both = LocalDiscriminators.regions(torch.cat([generated, real], 1), landmarks)
    return weight * sum(F.l1_loss(crop[:, :3], crop[:, 3:]) for crop in both.values()) / len(both)
