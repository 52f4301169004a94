"""Training Omega, the U-net generator (Fan et al. 2023), by self-reenactment, pix2pix style.

    I_gen = Omega(P_t, image(J))      J: the ground truth's own aligned landmarks at train time
    D:     0.5 * (BCE(D(P_t, I_o) -> 1) + BCE(D(P_t, I_gen) -> 0))        PatchGAN, logits
    Omega: mu1 * BCE(D(P_t, I_gen) -> 1) + mu2 * || I_gen - I_o ||_1        mu1 = 1, mu2 = 100
           (+ attention_weight * mean(M^2) for the warp-guided and attention variants)

Losses that see detail, each switched on in the train config for an ablation
(`reenact_lab.nn.detail_losses`):
    train.disc_scales = 2   D is pix2pixHD's two-scale PatchGAN (the GAN terms average the scales)
    train.lambda_fm = 10    + feature matching over D's layers and scales
    train.mu_local = 1      + local PatchGANs on the eye and mouth crops cut by I_o's landmarks
    train.mu_l1_regions = 100  + pixel L1 on those same crops (the eyes and mouth count again)
    renderer.variant = attention   I_gen = (1 - M) C + M P_t, with the L2 penalty on M

Adam betas (0.5, 0.999), lr 2e-4 for Omega and 1e-4 for D, batch 8. With train.ema on, an
exponential average of Omega's weights is what validation scores and the run saves. Phi is
trained first and frozen; Omega never sees Phi's output while training: its condition is the
landmark image of the ground-truth frame's tracked landmarks (live, it is the landmark image of
Phi's J_gen).

renderer.variant "warp_guided" also feeds the training-free warp of P_t to the ground truth's
landmarks and blends it by a predicted attention mask (`reenact.nn.unet`). D's condition is P_t
(`train.disc_condition=target`, the paper's D(P_t, .)) or Omega's whole input ("input").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from reenact.engine.weights import load_into
from reenact.errors import ConfigError
from reenact_lab.metrics.image import l1, psnr, ssim
from reenact_lab.nn import detail_losses, losses
from reenact_lab.nn.local import LocalDiscriminators
from reenact_lab.nn.multiscale import MultiScaleDiscriminator
from reenact_lab.nn.patchgan import PatchDiscriminator
from reenact.nn.unet import UNetGenerator
from reenact_lab.train.averaging import WeightAverage
from reenact_lab.train.datasets import GeneratorDataset, generator_input, resize_entry, tensor_to_image
from reenact_lab.train.distributed import main_first, wrap
from reenact_lab.train.pair_sampling import ExpressionPairs
from reenact_lab.train.pairs import (
    GeneratorPair,
    GeneratorPairs,
    Split,
    omega_candidates,
    validation_pairs,
)
from reenact_lab.train.trainer import Trainer
from reenact_lab.train.visuals import generator_grid
from reenact_lab.train.warps import WarpBank

DISC_CONDITIONS = ("target", "input")
PSNR_CAP = 100.0  # dB, for identical images (psnr = inf)


def build_dataset(entries, *, size: int, reference_count: int, seed: int, flip: bool,
                  warp_guided: bool, workers: int, progress: bool, opts=None,
                  warp_dir: str = "") -> GeneratorDataset:
    """Omega's training set: entries' crops at `size`, pairs, and warps when warp-guided (kept
    in `warp_dir`, "" = beside the cache). opts: the train section for far / cross-clip pairs and
    augmentation (None: plain pairs)."""
    resized = [resize_entry(e, size) for e in entries]
    crops, landmarks = [c for c, _ in resized], [lm for _, lm in resized]
    extra: dict = {}
    if opts is None:
        pairs = GeneratorPairs(entries, reference_count=reference_count)
    else:  # warps exist for same-clip pairs only: no cross-clip pairs when warp-guided
        pairs = ExpressionPairs(entries, reference_count=reference_count, far=opts.far_pairs,
                                cross_clip=0.0 if warp_guided else opts.cross_clip_pairs)
        extra = {"augment_colour": opts.augment_colour, "augment_scale": opts.augment_scale}
    warps = None
    if warp_guided:
        warps = WarpBank(entries, crops, landmarks, references=pairs.references,
                         frames=[omega_candidates(e) for e in entries], size=size,
                         workers=workers, progress=progress, folder=warp_dir or None)
    return GeneratorDataset(entries, crops, landmarks, pairs, size=size, seed=seed, flip=flip,
                            warps=warps, **extra)


def build_discriminator(t, in_channels: int, ndf: int) -> nn.Module:
    """The paper's PatchGAN, or pix2pixHD's multi-scale one when train.disc_scales > 1 or
    feature matching (train.lambda_fm > 0) is on."""
    if t.disc_scales < 1:
        raise ConfigError(f"train.disc_scales: {t.disc_scales}; expected 1 (the paper) or more")
    if t.disc_scales == 1 and t.lambda_fm <= 0:
        return PatchDiscriminator(in_channels=in_channels, ndf=ndf)
    return MultiScaleDiscriminator(in_channels=in_channels, ndf=ndf, scales=t.disc_scales)


def _twice(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """P_t and I_o's landmarks repeated, for a (real, fake) stacked batch."""
    return {"target": batch["target"].repeat(2, 1, 1, 1),
            "landmarks": batch["landmarks"].repeat(2, 1, 1)}


class GeneratorTrainer(Trainer):
    """`reenact train generator`: Omega and its PatchGAN on self-reenactment pairs."""

    task = "generator"
    best_key = "ssim"

    def setup(self, split: Split) -> None:
        r, t = self.config.renderer, self.opts
        if t.disc_condition not in DISC_CONDITIONS:
            raise ConfigError(f"train.disc_condition: '{t.disc_condition}' is not one of "
                              f"{', '.join(DISC_CONDITIONS)}")
        warp_guided = r.variant == "warp_guided"
        if warp_guided and t.reference_frames < 1:
            raise ConfigError("train.reference_frames=0 (any frame) needs a warp per pair; set it "
                              "to 1-8 for renderer.variant=warp_guided")
        self.gen = UNetGenerator(ngf=r.ngf, size=r.size, variant=r.variant)
        if t.init_generator:  # a fresh run from earlier weights (a resume restores them anyway)

            load_into(self.gen, t.init_generator)
        self.gen = self.prepare_module(self.gen)
        self.average = WeightAverage(self.gen, t.ema) if t.ema > 0 else None
        disc_in = 6 if t.disc_condition == "target" else self.gen.in_channels + 3
        self.disc = self.prepare_module(build_discriminator(t, disc_in, t.ndf or r.ngf))
        self.local = None
        if t.mu_local > 0:
            self.local = self.prepare_module(LocalDiscriminators(ndf=t.ndf or r.ngf))
        self.gen_parallel = wrap(self.gen, self.info)
        self.disc_parallel = wrap(self.disc, self.info)
        self.local_parallel = wrap(self.local, self.info) if self.local is not None else None
        betas = (t.beta1, t.beta2)
        disc_params = [*self.disc.parameters(),
                       *(self.local.parameters() if self.local is not None else [])]
        self._optimizers = {
            "generator": torch.optim.Adam(self.gen.parameters(), lr=t.lr_g, betas=betas),
            "discriminator": torch.optim.Adam(disc_params, lr=t.lr_d, betas=betas),
        }
        common = {"size": r.size, "seed": t.seed, "workers": max(1, t.num_workers),
                  "progress": self.progress, "warp_dir": t.warp_dir}
        with main_first(self.info):  # rank 0 makes and caches the warps, the others read them
            self._dataset = build_dataset(split.train, reference_count=t.reference_frames,
                                          flip=t.flip, warp_guided=warp_guided, opts=t, **common)
        self.val_pairs: list[GeneratorPair] = []
        if self.info.is_main:
            self.val_pairs = validation_pairs(split.val, t.val_frames)
        if self.val_pairs:
            # the warps are made for both variants: the training-free baseline needs them
            self.val_data = build_dataset(split.val, reference_count=1, flip=False,
                                          warp_guided=True, **common)

    def networks(self) -> dict[str, nn.Module]:
        nets = {"generator": self.gen, "discriminator": self.disc}
        if self.local is not None:
            nets["local_discriminator"] = self.local
        if self.average is not None:
            nets["generator_average"] = self.average
        return nets

    def parameter_counts(self) -> dict[str, int]:
        """As the Trainer's, without the average of Omega's weights (a copy, trained by none)."""
        counts = super().parameter_counts()
        counts.pop("generator_average", None)
        return counts

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self._optimizers

    def dataset(self) -> GeneratorDataset:
        return self._dataset

    def final_network(self) -> nn.Module:
        """What validation scores and the run saves: the average of Omega's weights when
        train.ema is on, else Omega as trained."""
        return self.gen if self.average is None else self.average.module

    # ----- the step, as the paper reads -------------------------------------------------------

    def _condition(self, batch: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return batch["target"] if self.opts.disc_condition == "target" else x

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        with self.autocast():
            generated, mask = self.gen_parallel(x, return_mask=True)
        return generated.float(), None if mask is None else mask.float()

    def _judge(self, disc: nn.Module, pair: torch.Tensor):
        """D's output on (B,C,S,S) pairs, in float: a map, or per scale [features..., map]."""
        with self.autocast():
            out = disc(pair)
        if isinstance(out, torch.Tensor):
            return out.float()
        return [[f.float() for f in scale] for scale in out]

    def _judge_local(self, local: nn.Module, image: torch.Tensor,
                     batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        with self.autocast():
            out = local(torch.cat([batch["target"], image], 1), batch["landmarks"])
        return {k: v.float() for k, v in out.items()}

    def backward_D(self, batch: dict[str, torch.Tensor], condition: torch.Tensor,
                   generated: torch.Tensor) -> torch.Tensor:
        """D's (and the local Ds') loss on real I_o and detached I_gen; backward."""
        real, fake = batch["real"], generated.detach()
        out = self._judge(self.disc_parallel, torch.cat([torch.cat([condition, real], 1),
                                                         torch.cat([condition, fake], 1)]))
        if isinstance(out, torch.Tensor):
            loss = losses.cgan_discriminator(*out.chunk(2))
        else:
            halves = [[f.chunk(2) for f in scale] for scale in out]
            loss = detail_losses.multiscale_discriminator(
                [[f[0] for f in scale] for scale in halves],
                [[f[1] for f in scale] for scale in halves])
        if self.local is not None:
            both = {k: v.chunk(2) for k, v in self._judge_local(
                self.local_parallel, torch.cat([real, fake]), _twice(batch)).items()}
            loss = loss + detail_losses.local_discriminator(
                {k: v[0] for k, v in both.items()}, {k: v[1] for k, v in both.items()})
        self._backward(loss, "discriminator")
        return loss

    def backward_G(self, batch: dict[str, torch.Tensor], condition: torch.Tensor,
                   generated: torch.Tensor, mask: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Omega's losses (the paper's, then those the config switches on); backward."""
        t, real = self.opts, batch["real"]
        out = self._judge(self.disc, torch.cat([condition, generated], 1))  # D's grads are off
        parts: dict[str, torch.Tensor] = {}
        if isinstance(out, torch.Tensor):
            parts["cgan"] = losses.cgan_generator(out, weight=t.mu_gan)
        else:
            parts["cgan"] = detail_losses.multiscale_generator(out, weight=t.mu_gan)
            if t.lambda_fm > 0:
                with torch.no_grad():
                    real_out = self._judge(self.disc, torch.cat([condition, real], 1))
                parts["feature_matching"] = detail_losses.feature_matching(
                    out, real_out, weight=t.lambda_fm)
        parts["pixel_l1"] = losses.pixel_l1(generated, real, weight=t.mu_l1)
        if t.mu_l1_regions > 0:
            parts["regions_l1"] = detail_losses.regions_l1(
                generated, real, batch["landmarks"], weight=t.mu_l1_regions)
        if self.local is not None:
            parts["local_gan"] = detail_losses.local_generator(
                self._judge_local(self.local, generated, batch), weight=t.mu_local)
        if mask is not None:
            parts["attention"] = losses.attention_penalty(mask, weight=t.attention_weight,
                                                          tv_weight=t.attention_tv)
        parts["total"] = sum(parts.values(), torch.zeros((), device=generated.device))
        self._backward(parts["total"], "generator")
        return parts

    def _backward(self, loss: torch.Tensor, name: str) -> None:
        scaler = self.scalers.get(name)
        (scaler.scale(loss) if scaler is not None else loss).backward()

    def step(self, name: str) -> None:
        """Optimizer `name`'s step (through its GradScaler under fp16)."""
        optimizer, scaler = self._optimizers[name], self.scalers.get(name)
        if scaler is None:
            optimizer.step()
        else:
            scaler.step(optimizer)
            scaler.update()

    def _discriminators_learn(self, flag: bool) -> None:
        for disc in (self.disc, self.local):
            if disc is not None:
                disc.requires_grad_(flag)

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        for optimizer in self._optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        x = generator_input(batch)
        condition = self._condition(batch, x)
        generated, mask = self.forward(x)
        self._discriminators_learn(True)
        loss_d = self.backward_D(batch, condition, generated)
        self.step("discriminator")
        self._discriminators_learn(False)
        parts = self.backward_G(batch, condition, generated, mask)
        self.step("generator")
        if self.average is not None:
            self.average.update(self.gen)
        self._discriminators_learn(True)
        return {"disc": loss_d.item(), **{k: v.item() for k, v in parts.items()}}

    # ----- validation and images -----------------------------------------------------------------

    def validate(self) -> dict[str, Any] | None:
        if not self.val_pairs:
            return None
        record = validate_generator(self.final_network(), self.val_data, self.val_pairs,
                                    device=self.device,
                                    warp_guided=self.gen.variant == "warp_guided",
                                    batch_size=self.opts.batch_size)
        r = self.config.renderer
        return {"variant": r.variant, "ngf": r.ngf, "size": r.size,
                "identities": self.split.val_identities, **record}

    def sample_grid(self, batch: dict[str, torch.Tensor]) -> np.ndarray | None:
        with torch.no_grad(), self.autocast():
            generated = self.final_network()(generator_input(batch)[:4])
        return generator_grid(batch, generated.float())


def _scores(images: list[np.ndarray], truths: list[np.ndarray]) -> dict[str, float]:
    return {
        "ssim": float(np.mean([ssim(a, b) for a, b in zip(images, truths)])),
        "psnr": float(np.mean([min(psnr(a, b), PSNR_CAP) for a, b in zip(images, truths)])),
        "l1": float(np.mean([l1(a, b) for a, b in zip(images, truths)])),
    }


def validate_generator(gen: UNetGenerator, data: GeneratorDataset, pairs: list[GeneratorPair], *,
                       device: torch.device, warp_guided: bool, batch_size: int) -> dict[str, Any]:
    """SSIM / PSNR / L1 (uint8 crops, `reenact_lab.metrics.image`) of Omega on self-reenactment of
    held-out identities (the neutral reference frame drives each ground-truth frame's landmark
    image), and of two baselines: the training-free warp and the unchanged reference crop."""
    was_training = gen.training
    gen.eval()
    generated, warped, references, truths = [], [], [], []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        items = [data.item(p) for p in chunk]
        batch = {k: torch.stack([it[k] for it in items]).to(device) for k in items[0]}
        if not warp_guided:
            batch.pop("warped", None)
        with torch.no_grad():
            out = gen(generator_input(batch)).float()
        for i, pair in enumerate(chunk):
            generated.append(tensor_to_image(out[i]))
            warped.append(data.warps.get(pair.entry, pair.reference, pair.truth))
            references.append(data.crops[pair.entry][pair.reference])
            truths.append(data.crops[pair.entry][pair.truth])
    gen.train(was_training)
    return {
        "samples": len(pairs), **_scores(generated, truths),
        "baselines": {"warp": _scores(warped, truths), "reference": _scores(references, truths)},
    }

