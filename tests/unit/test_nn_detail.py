"""Losses that see detail: the two-scale discriminator with feature matching, the local eye and
mouth discriminators, and the attention-mask output: shapes and gradients."""

from __future__ import annotations

import torch

from reenact_lab.nn import detail_losses
from reenact_lab.nn.local import LocalDiscriminators, cut_regions, region_boxes
from reenact_lab.nn.losses import attention_penalty
from reenact_lab.nn.multiscale import MultiScaleDiscriminator
from reenact.nn.unet import UNetGenerator


def _face_landmarks(batch: int, size: int = 256) -> torch.Tensor:
    """(B,478,2): every point at the centre, eyes and mouth where an aligned face has them."""
    lm = torch.full((batch, 478, 2), size / 2)
    s = size / 256
    for i, xy in {
        33: (80, 110),
        133: (110, 110),
        362: (146, 110),
        263: (176, 110),
        61: (100, 180),
        291: (156, 180),
        13: (128, 175),
        14: (128, 185),
        0: (128, 170),
        17: (128, 190),
    }.items():
        lm[:, i] = torch.tensor(xy) * s
    return lm


def test_multiscale_discriminator_shapes_and_feature_matching_gradients():
    torch.manual_seed(0)
    disc = MultiScaleDiscriminator(in_channels=6, ndf=8, scales=2)
    real = torch.rand(2, 6, 256, 256) * 2 - 1
    fake = (torch.rand(2, 6, 256, 256) * 2 - 1).requires_grad_(True)
    out_real, out_fake = disc(real), disc(fake)
    assert [scale[-1].shape[-2:] for scale in out_fake] == [(30, 30), (14, 14)]
    assert all(len(scale) == 5 for scale in out_fake)  # 4 LeakyReLU features + the map
    disc.eval()  # spectral norm's power iteration stands still
    same = detail_losses.feature_matching(disc(real), disc(real), weight=10.0)
    assert same.item() == 0.0
    disc.train()
    loss = detail_losses.feature_matching(out_fake, out_real, weight=10.0)
    loss.backward()
    assert loss.item() > 0 and fake.grad.abs().sum() > 0
    d_loss = detail_losses.multiscale_discriminator(disc(real), disc(fake.detach()))
    disc.zero_grad()
    d_loss.backward()
    assert all(p.grad is not None for p in disc.parameters())


def test_regions_are_cut_where_the_landmarks_say():
    lm = _face_landmarks(1)
    boxes = region_boxes(lm)
    assert torch.allclose(boxes["eyes"][0, :2], torch.tensor([128.0, 110.0]))
    assert torch.allclose(boxes["mouth"][0, :2], torch.tensor([128.0, 180.0]))
    xs = torch.arange(256).float().add(0.5).expand(256, 256)  # x of each pixel centre
    image = torch.stack([xs, xs.T]).unsqueeze(0)
    crop = cut_regions(image, boxes["mouth"], (64, 96))
    assert crop.shape == (1, 2, 64, 96)
    assert abs(crop[0, 0].mean().item() - 128.0) < 1.0 and abs(crop[0, 1].mean().item() - 180) < 1
    width = crop[0, 0, 32, -1] - crop[0, 0, 32, 0]
    assert abs(width.item() - boxes["mouth"][0, 2].item() * 95 / 96) < 1.0


def test_local_discriminators_see_only_eyes_and_mouth():
    torch.manual_seed(0)
    local = LocalDiscriminators(ndf=8)
    pair = (torch.rand(2, 6, 256, 256) * 2 - 1).requires_grad_(True)
    out = local(pair, _face_landmarks(2))
    assert out["eyes"].shape == (2, 1, 6, 14) and out["mouth"].shape == (2, 1, 6, 10)
    loss = detail_losses.local_generator(out, weight=1.0)
    loss.backward()
    grad = pair.grad.abs().sum(dim=(0, 1))
    assert grad[170:190, 120:136].sum() > 0 and grad[105:115, 90:170].sum() > 0
    assert grad[:40].sum() == 0 and grad[:, :20].sum() == 0  # forehead, cheek edge: untouched
    d = detail_losses.local_discriminator(
        local(pair.detach(), _face_landmarks(2)), local(pair.detach() * 0.5, _face_landmarks(2))
    )
    local.zero_grad()
    d.backward()
    assert all(p.grad is not None for p in local.parameters())


def test_regions_l1_counts_only_the_eyes_and_mouth_and_their_gradients():
    """train.mu_l1_regions: an error in the mouth box costs, the same error on the forehead costs
    nothing; the loss is the weighted mean of the two crops' L1, and the gradient stays inside."""
    real = torch.zeros(1, 3, 256, 256)
    mouth, forehead = real.clone(), real.clone()
    mouth[..., 170:190, 110:146] = 1.0
    forehead[..., 10:40, 100:160] = 1.0
    lm = _face_landmarks(1)
    assert detail_losses.regions_l1(real, real, lm).item() == 0.0
    assert detail_losses.regions_l1(forehead, real, lm).item() == 0.0
    cost = detail_losses.regions_l1(mouth, real, lm, weight=10.0)
    crop = cut_regions(mouth, region_boxes(lm)["mouth"], (64, 96))
    assert abs(cost.item() - 10.0 * crop.abs().mean().item() / 2) < 1e-4 and cost.item() > 0.5
    generated = torch.zeros(1, 3, 256, 256, requires_grad=True)
    detail_losses.regions_l1(generated, real + 0.5, lm).backward()
    grad = generated.grad.abs().sum(dim=(0, 1))
    assert grad[170:190, 120:136].sum() > 0 and grad[105:115, 90:170].sum() > 0
    assert grad[:40].sum() == 0 and grad[:, :20].sum() == 0


def test_attention_output_blends_colour_with_the_target():
    torch.manual_seed(0)
    gen = UNetGenerator(ngf=4, size=64, variant="attention")
    assert gen.in_channels == 4
    x = torch.rand(2, 4, 64, 64) * 2 - 1
    image, mask = gen(x, return_mask=True)
    assert image.shape == (2, 3, 64, 64) and mask.shape == (2, 1, 64, 64)
    assert 0 <= mask.min() and mask.max() <= 1
    loss = image.abs().mean() + attention_penalty(mask, weight=0.1)
    loss.backward()
    assert all(p.grad is not None for p in gen.parameters())
    with torch.no_grad():  # M -> 1: the target's own pixels come through
        gen.output[1].bias[3:].fill_(50.0)
        gen.output[1].weight[:, 3:].zero_()
    assert torch.allclose(gen(x), x[:, :3], atol=1e-5)
