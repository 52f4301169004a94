"""Phi, the landmark-fusion autoencoder, and D_J."""

from __future__ import annotations

import pytest
import torch

from reenact.nn import ShapeError
from reenact_lab.nn.fusion import (
    LandmarkDiscriminator,
    LandmarkFusionAE,
    crop_to_unit,
    unit_to_crop,
)
from reenact_lab.nn.losses import fusion_l1


def unit_landmarks(batch: int, points: int = 478, dims: int = 3, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, points, dims, generator=generator) * 1.6 - 0.8


@pytest.mark.parametrize("dims", [2, 3])
def test_output_has_input_shape(dims: int) -> None:
    phi = LandmarkFusionAE(dims=dims)
    source, target = unit_landmarks(4, dims=dims, seed=1), unit_landmarks(4, dims=dims, seed=2)
    deviation = phi(source, target)
    assert deviation.shape == (4, 478, dims)
    assert phi.fuse(source, target).shape == (4, 478, dims)
    assert phi.arch_meta() == {
        "arch": "fusion",
        "num_points": 478,
        "dims": dims,
        "hidden": 512,
        "code": 128,
    }


def test_untrained_fuse_is_close_to_target_but_not_frozen() -> None:
    torch.manual_seed(0)
    phi = LandmarkFusionAE()
    source, target = unit_landmarks(8, seed=1), unit_landmarks(8, seed=2)
    fused = phi.fuse(source, target)
    gap = (fused - target).abs().max().item()
    assert gap < 1e-2, f"an untrained Phi should be ~ identity on the target, moved it by {gap}"
    assert gap > 0, "the decoder's last layer must be near zero, not exactly zero"
    fusion_l1(fused, source).backward()
    for name in ("enc_source", "enc_target", "decoder"):
        grad = sum(p.grad.abs().sum() for p in getattr(phi, name).parameters())
        assert grad > 0, f"no gradient reaches {name}"


def test_fuse_is_target_plus_forward() -> None:
    torch.manual_seed(0)
    phi = LandmarkFusionAE(hidden=32, code=8)
    source, target = unit_landmarks(2, seed=3), unit_landmarks(2, seed=4)
    torch.testing.assert_close(phi.fuse(source, target), target + phi(source, target))


def test_learns_a_transfer_quickly() -> None:
    """A few Adam steps fit J_o = L_t + (L_s - neutral): the L1 loss must fall a lot."""
    torch.manual_seed(0)
    phi = LandmarkFusionAE(num_points=68, dims=2, hidden=64, code=16)
    neutral = unit_landmarks(1, 68, 2, seed=5)
    source = neutral + 0.05 * torch.randn(16, 68, 2)
    target = unit_landmarks(16, 68, 2, seed=6)
    real = target + (source - neutral)
    optimiser = torch.optim.Adam(phi.parameters(), lr=2e-3, betas=(0.5, 0.999))
    first = fusion_l1(phi.fuse(source, target), real).item()
    for _ in range(60):
        optimiser.zero_grad()
        loss = fusion_l1(phi.fuse(source, target), real)
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.3 * first, f"L1 went from {first:.3f} to {loss.item():.3f}"


def test_wrong_landmark_count_is_a_clear_error() -> None:
    phi = LandmarkFusionAE()
    message = r"source landmarks: expected shape \(\*, 478, 3\), got \(2, 468, 3\)"
    with pytest.raises(ShapeError, match=message):
        phi(torch.zeros(2, 468, 3), torch.zeros(2, 478, 3))
    with pytest.raises(ShapeError, match="target landmarks"):
        phi(torch.zeros(2, 478, 3), torch.zeros(2, 478, 2))
    with pytest.raises(ValueError, match="dims"):
        LandmarkFusionAE(dims=4)


def test_landmark_discriminator_logits() -> None:
    disc = LandmarkDiscriminator()
    logits = disc(unit_landmarks(5))
    assert logits.shape == (5, 1) and torch.isfinite(logits).all()
    with pytest.raises(ShapeError):
        disc(torch.zeros(5, 478, 2))


def test_unit_coordinates_round_trip() -> None:
    size = 256
    crop = torch.tensor([[[0.0, 0.0, 0.0], [256.0, 256.0, 12.8], [128.0, 64.0, -25.6]]])
    unit = crop_to_unit(crop, size)
    expected = torch.tensor([[[-1.0, -1.0, 0.0], [1.0, 1.0, 0.1], [0.0, -0.5, -0.2]]])
    torch.testing.assert_close(unit, expected)
    torch.testing.assert_close(unit_to_crop(unit, size), crop)
    torch.testing.assert_close(crop_to_unit(crop[..., :2], size), unit[..., :2])
