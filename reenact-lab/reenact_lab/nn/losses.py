"""The losses of both modules, named and weighted as in the paper (Fan et al. 2023).

Phi (landmark fusion), weights lambda1..3 = 0.1, 10, 100:
    fusion_adversarial  lambda1 * GAN(D_J(J_gen) -> real)
    fusion_cycle        lambda2 * || Phi(J_s, Phi(L_t, L_s)) - L_s ||_1
    fusion_l1           lambda3 * || J_gen - J_o ||_1
Omega (U-net), weights mu1, mu2 = 1, 100:
    cgan_generator      mu1 * GAN(D(P_t, I_gen) -> real)
    cgan_discriminator  -(E[log D(P_t, I_o)] + E[log(1 - D(P_t, I_gen))]) (halved, as pix2pix)
    pixel_l1            mu2 * || I_gen - I_o ||_1
Warp-guided Omega (LGP-GAN / GANimation): attention_penalty, 0.1 * mean(M^2) (+ optional TV).

Discriminator outputs are logits by default (BCE-with-logits, numerically safe); pass
`probabilities=True` when the discriminator ends with the paper's sigmoid. Every L1 is a mean
over all elements (the 30x30 patch map is averaged likewise). All return scalar tensors.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F

LAMBDA_ADV, LAMBDA_CYCLE, LAMBDA_L1 = 0.1, 10.0, 100.0
MU_GAN, MU_L1 = 1.0, 100.0
ATTENTION_WEIGHT = 0.1
_PROB_EPS = 1e-7  # clamp for BCE on probabilities (log(0) guard)


class Fuser(Protocol):
    """Anything with Phi's `fuse(source, target) -> target + Phi(source, target)`."""

    def fuse(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...


def gan_loss(prediction: torch.Tensor, real: bool, *, probabilities: bool = False) -> torch.Tensor:
    """Binary cross-entropy of a discriminator's output against the label real (1) / fake (0).

    prediction: any shape; logits, or probabilities in [0,1] with `probabilities=True`.
    Returns the mean over all elements: -mean(log D) for real, -mean(log(1 - D)) for fake.
    """
    target = torch.full_like(prediction, 1.0 if real else 0.0)
    if probabilities:
        return F.binary_cross_entropy(prediction.clamp(_PROB_EPS, 1 - _PROB_EPS), target)
    return F.binary_cross_entropy_with_logits(prediction, target)


def discriminator_loss(
    real_prediction: torch.Tensor, fake_prediction: torch.Tensor, *, probabilities: bool = False
) -> torch.Tensor:
    """The discriminator's side of a GAN: 0.5 * (BCE(real -> 1) + BCE(fake -> 0)).

    The paper's objective E[log D(real)] + E[log(1 - D(fake))], maximised by D, negated and
    halved as in pix2pix (D then learns at half the generator's rate). Used for D_J and D.
    """
    return 0.5 * (
        gan_loss(real_prediction, True, probabilities=probabilities)
        + gan_loss(fake_prediction, False, probabilities=probabilities)
    )


# ----- Phi: landmark fusion --------------------------------------------------------------------


def fusion_adversarial(
    fake_prediction: torch.Tensor, *, weight: float = LAMBDA_ADV, probabilities: bool = False
) -> torch.Tensor:
    """lambda1 * GAN loss of Phi: D_J(J_gen) should be judged real. fake_prediction: (B,1)."""
    return weight * gan_loss(fake_prediction, True, probabilities=probabilities)


def fusion_cycle(
    phi: Fuser,
    source: torch.Tensor,
    target: torch.Tensor,
    *,
    fused: torch.Tensor | None = None,
    weight: float = LAMBDA_CYCLE,
) -> torch.Tensor:
    """lambda2 * || Phi(J_s, Phi(L_t, L_s)) - L_s ||_1, with Phi the full map `phi.fuse`.

    Phi(L_t, L_s) = fuse(source=L_t, target=L_s) puts the target's expression on the source's
    face; J_s is the generated face carrying the source's expression, J_gen = fuse(L_s, L_t);
    driving the first with the second must give back the source's own landmarks L_s.

    source, target: (B, P, D) unit crop coordinates (L_s, L_t). `fused`: J_gen if the caller
    already computed it (gradients flow through it either way).
    """
    if fused is None:
        fused = phi.fuse(source, target)
    swapped = phi.fuse(target, source)
    reconstructed = phi.fuse(fused, swapped)
    return weight * F.l1_loss(reconstructed, source)


def fusion_l1(
    fused: torch.Tensor, real: torch.Tensor, *, weight: float = LAMBDA_L1
) -> torch.Tensor:
    """lambda3 * || J_gen - J_o ||_1. fused, real: (B, P, D) unit crop coordinates."""
    return weight * F.l1_loss(fused, real)


# ----- Omega: the U-net generator --------------------------------------------------------------


def cgan_generator(
    fake_prediction: torch.Tensor, *, weight: float = MU_GAN, probabilities: bool = False
) -> torch.Tensor:
    """mu1 * the generator's cGAN loss: D(P_t, I_gen) should be judged real (non-saturating
    form of minimising E[log(1 - D(P_t, I_gen))]). fake_prediction: (B,1,30,30) at 256."""
    return weight * gan_loss(fake_prediction, True, probabilities=probabilities)


def cgan_discriminator(
    real_prediction: torch.Tensor, fake_prediction: torch.Tensor, *, probabilities: bool = False
) -> torch.Tensor:
    """The PatchGAN's loss on D(P_t, I_o) (real) and D(P_t, I_gen) (fake, detached by caller)."""
    return discriminator_loss(real_prediction, fake_prediction, probabilities=probabilities)


def pixel_l1(generated: torch.Tensor, real: torch.Tensor, *, weight: float = MU_L1) -> torch.Tensor:
    """mu2 * || I_gen - I_o ||_1. generated, real: (B,3,H,W) in [-1,1]."""
    return weight * F.l1_loss(generated, real)


def attention_penalty(
    mask: torch.Tensor, *, weight: float = ATTENTION_WEIGHT, tv_weight: float = 0.0
) -> torch.Tensor:
    """LGP-GAN's attention L2 penalty weight * mean(M^2), plus GANimation's smoothness term
    tv_weight * (mean squared horizontal + vertical differences of M).

    mask: (B,1,H,W) in [0,1], the weight of the warped input. The L2 term keeps M from
    saturating at 1 (copying the warp everywhere); the TV term keeps it smooth.
    """
    loss = weight * mask.pow(2).mean()
    if tv_weight:
        dx = (mask[..., :, 1:] - mask[..., :, :-1]).pow(2).mean()
        dy = (mask[..., 1:, :] - mask[..., :-1, :]).pow(2).mean()
        loss = loss + tv_weight * (dx + dy)
    return loss


# ----- totals, for one optimiser step ----------------------------------------------------------


def fusion_generator_losses(
    phi: Fuser,
    disc: torch.nn.Module,
    source: torch.Tensor,
    target: torch.Tensor,
    real: torch.Tensor,
    *,
    fused: torch.Tensor | None = None,
    lambda_adv: float = LAMBDA_ADV,
    lambda_cycle: float = LAMBDA_CYCLE,
    lambda_l1: float = LAMBDA_L1,
    probabilities: bool = False,
) -> dict[str, torch.Tensor]:
    """Phi's three weighted losses and their sum under "total".

    source L_s, target L_t, real J_o: (B, P, D) unit crop coordinates; disc is D_J;
    fused: J_gen if already computed (pass the same tensor, detached, to D_J's step).
    """
    if fused is None:
        fused = phi.fuse(source, target)
    parts = {
        "fusion_adversarial": fusion_adversarial(
            disc(fused), weight=lambda_adv, probabilities=probabilities
        ),
        "fusion_cycle": fusion_cycle(phi, source, target, fused=fused, weight=lambda_cycle),
        "fusion_l1": fusion_l1(fused, real, weight=lambda_l1),
    }
    parts["total"] = sum(parts.values(), torch.zeros((), device=fused.device))
    return parts


def generator_losses(
    fake_prediction: torch.Tensor,
    generated: torch.Tensor,
    real: torch.Tensor,
    *,
    mask: torch.Tensor | None = None,
    mu_gan: float = MU_GAN,
    mu_l1: float = MU_L1,
    attention_weight: float = ATTENTION_WEIGHT,
    tv_weight: float = 0.0,
    probabilities: bool = False,
) -> dict[str, torch.Tensor]:
    """Omega's weighted losses and their sum under "total": cGAN, pixel L1, and the attention
    penalty when a mask (warp-guided variant) is given.

    fake_prediction: D(P_t, I_gen) (B,1,h,w); generated I_gen, real I_o: (B,3,H,W) in [-1,1].
    """
    parts = {
        "cgan": cgan_generator(fake_prediction, weight=mu_gan, probabilities=probabilities),
        "pixel_l1": pixel_l1(generated, real, weight=mu_l1),
    }
    if mask is not None:
        parts["attention"] = attention_penalty(mask, weight=attention_weight, tv_weight=tv_weight)
    parts["total"] = sum(parts.values(), torch.zeros((), device=generated.device))
    return parts
