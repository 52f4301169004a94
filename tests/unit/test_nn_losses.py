"""The paper's losses: values on cases with known answers, signs, and weights."""

from __future__ import annotations

import pytest
import torch

from reenact_lab.nn.fusion import LandmarkDiscriminator, LandmarkFusionAE
from reenact_lab.nn import losses as L


class RegionSwapFuser:
    """An ideal transfer: the expression is the coordinates of an `expression` subset of points
    (say the mouth); fuse(s, t) is t with that subset taken from s."""

    def __init__(self, expression: torch.Tensor):
        self.expression = expression  # (P,) bool

    def fuse(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.where(self.expression[None, :, None], source, target)


class OffsetFuser:
    """fuse(s, t) = t + c: ignores the source and drifts by c."""

    def __init__(self, offset: float):
        self.offset = offset

    def fuse(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return target + self.offset


class AverageFuser:
    def fuse(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 0.5 * (source + target)


def landmarks(seed: int, batch: int = 4) -> torch.Tensor:
    return torch.rand(batch, 478, 3, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_default_weights_are_the_papers() -> None:
    assert (L.LAMBDA_ADV, L.LAMBDA_CYCLE, L.LAMBDA_L1) == (0.1, 10.0, 100.0)
    assert (L.MU_GAN, L.MU_L1) == (1.0, 100.0)
    assert L.ATTENTION_WEIGHT == 0.1


def test_gan_loss_signs_and_probability_form() -> None:
    confident_real = torch.full((2, 1, 30, 30), 8.0)
    assert L.gan_loss(confident_real, True) < 1e-3
    assert L.gan_loss(confident_real, False) > 7.9
    logits = torch.randn(2, 1, 30, 30)
    for real in (True, False):
        torch.testing.assert_close(
            L.gan_loss(torch.sigmoid(logits), real, probabilities=True), L.gan_loss(logits, real)
        )
    # log(0) is clamped: a saturated sigmoid gives a large but finite loss
    assert torch.isfinite(L.gan_loss(torch.zeros(4), True, probabilities=True))


def test_discriminator_loss_prefers_a_correct_discriminator() -> None:
    good = L.discriminator_loss(torch.full((8, 1), 5.0), torch.full((8, 1), -5.0))
    confused = L.discriminator_loss(torch.zeros(8, 1), torch.zeros(8, 1))
    wrong = L.discriminator_loss(torch.full((8, 1), -5.0), torch.full((8, 1), 5.0))
    assert good < confused < wrong
    torch.testing.assert_close(confused, torch.tensor(0.6931472))  # log 2
    torch.testing.assert_close(L.cgan_discriminator(torch.zeros(1), torch.zeros(1)), confused)


def test_l1_losses_zero_on_identical_and_weighted() -> None:
    a = landmarks(1)
    assert L.fusion_l1(a, a.clone()) == 0
    off_by_001 = L.fusion_l1(torch.zeros(2, 478, 3), torch.full((2, 478, 3), 0.01))
    assert off_by_001.item() == pytest.approx(1.0)
    image = torch.zeros(1, 3, 8, 8)
    assert L.pixel_l1(image, image) == 0
    assert L.pixel_l1(image, image + 0.5).item() == pytest.approx(50.0)
    assert L.pixel_l1(image, image + 0.5, weight=1.0).item() == pytest.approx(0.5)


def test_cycle_zero_for_an_ideal_transfer_and_order_matters() -> None:
    source, target = landmarks(1), landmarks(2)
    fuser = RegionSwapFuser(torch.arange(478) % 5 == 0)
    # Phi(J_s, Phi(L_t, L_s)): L_s's face with L_t's expression, driven by J_gen, gives L_s back
    assert L.fusion_cycle(fuser, source, target).item() == 0.0
    # the arguments the other way round, fuse(Phi(L_t, L_s), J_gen), would give L_t, not L_s
    wrong = fuser.fuse(fuser.fuse(target, source), fuser.fuse(source, target))
    assert 10 * (wrong - source).abs().mean() > 1.0


def test_cycle_measures_drift_and_mixing() -> None:
    source, target = landmarks(1), landmarks(2)
    # fuse(s,t) = t + c: back = L_s + c, reconstructed = back + c -> |2c| * lambda2
    drift = L.fusion_cycle(OffsetFuser(0.05), source, target)
    assert drift.item() == pytest.approx(10 * 0.1, rel=1e-4)
    expected = 10 * (0.5 * (target - source)).abs().mean()
    torch.testing.assert_close(L.fusion_cycle(AverageFuser(), source, target), expected)


def test_cycle_uses_the_given_fused_landmarks() -> None:
    source, target = landmarks(1), landmarks(2)
    fuser = OffsetFuser(0.0)
    assert L.fusion_cycle(fuser, source, target) == 0
    shifted = target + 0.2  # a different J_gen: reconstructed = fuse(J_gen, back) = back
    assert L.fusion_cycle(fuser, source, target, fused=shifted) == 0
    drift = L.fusion_cycle(OffsetFuser(0.1), source, target, fused=shifted, weight=1.0)
    assert drift.item() == pytest.approx(0.2, rel=1e-4)


def test_fusion_totals_on_real_networks() -> None:
    torch.manual_seed(0)
    phi, disc = LandmarkFusionAE(hidden=64, code=16), LandmarkDiscriminator(hidden=64)
    source, target, real = landmarks(1), landmarks(2), landmarks(3)
    parts = L.fusion_generator_losses(phi, disc, source, target, real)
    assert set(parts) == {"fusion_adversarial", "fusion_cycle", "fusion_l1", "total"}
    assert all(torch.isfinite(v) and v > 0 for v in parts.values())
    torch.testing.assert_close(parts["total"], sum(v for k, v in parts.items() if k != "total"))
    parts["total"].backward()
    assert all(p.grad is not None for p in phi.parameters())
    # an untrained Phi is ~ identity on the target: its cycle loss is ~ 0, its L1 is not
    assert parts["fusion_cycle"] < 0.5 and parts["fusion_l1"] > 10


def test_generator_totals_and_attention() -> None:
    fake_prediction = torch.zeros(2, 1, 30, 30)
    generated, real = torch.zeros(2, 3, 16, 16), torch.full((2, 3, 16, 16), 0.1)
    parts = L.generator_losses(fake_prediction, generated, real)
    assert set(parts) == {"cgan", "pixel_l1", "total"}
    assert parts["pixel_l1"].item() == pytest.approx(10.0)
    assert parts["cgan"].item() == pytest.approx(0.6931, rel=1e-3)
    mask = torch.full((2, 1, 16, 16), 0.5)
    with_mask = L.generator_losses(fake_prediction, generated, real, mask=mask)
    assert with_mask["attention"].item() == pytest.approx(0.1 * 0.25)
    assert with_mask["total"].item() == pytest.approx(parts["total"].item() + 0.025, rel=1e-5)


def test_attention_penalty() -> None:
    assert L.attention_penalty(torch.zeros(1, 1, 8, 8)) == 0
    assert L.attention_penalty(torch.ones(1, 1, 8, 8)).item() == pytest.approx(0.1)
    smooth = torch.full((1, 1, 8, 8), 0.5)
    checker = ((torch.arange(8)[:, None] + torch.arange(8)[None]) % 2).float().view(1, 1, 8, 8)
    assert L.attention_penalty(checker, tv_weight=0.0) > L.attention_penalty(smooth, tv_weight=0.0)
    assert L.attention_penalty(smooth, tv_weight=1.0) == L.attention_penalty(smooth)
    tv_part = L.attention_penalty(checker, tv_weight=1.0) - L.attention_penalty(checker)
    assert tv_part.item() == pytest.approx(2.0)
