"""Training Omega, the U-net generator (Fan et al. 2023), by self-reenactment, pix2pix style.

    I_gen = Omega(P_t, image(J))      J: the ground truth's own aligned landmarks at train time
    D:     0.5 * (BCE(D(P_t, I_o) -> 1) + BCE(D(P_t, I_gen) -> 0))        PatchGAN, logits
    Omega: mu1 * BCE(D(P_t, I_gen) -> 1) + mu2 * || I_gen - I_o ||_1        mu1 = 1, mu2 = 100
           (+ attention_weight * mean(M^2) for the warp-guided variant)

Adam betas (0.5, 0.999), lr 2e-4 for Omega and 1e-4 for D, batch 8. Phi is trained first and
frozen; Omega never sees Phi's output while training: its condition is the landmark image of the
ground-truth frame's tracked landmarks (live, it is the landmark image of Phi's J_gen).

renderer.variant "warp_guided" also feeds the training-free warp of P_t to the ground truth's
landmarks and blends it by a predicted attention mask (`reenact.nn.unet`). D's condition is P_t
(`train.disc_condition=target`, the paper's D(P_t, .)) or Omega's whole input ("input").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from reenact.errors import ConfigError
from reenact.nn import losses
from reenact.nn.patchgan import PatchDiscriminator
from reenact.nn.unet import UNetGenerator
from reenact.train.datasets import GeneratorDataset, generator_input, resize_entry, tensor_to_image
from reenact.train.distributed import main_first, wrap
from reenact.train.trainer import Trainer
from reenact.train.pairs import GeneratorPair, GeneratorPairs, Split, omega_candidates
from reenact.train.pairs import validation_pairs
from reenact.train.warps import WarpBank

DISC_CONDITIONS = ("target", "input")
PSNR_CAP = 100.0  # dB, for identical images (psnr = inf)


def build_dataset(entries, *, size: int, reference_count: int, seed: int, flip: bool,
                  warp_guided: bool, workers: int, progress: bool) -> GeneratorDataset:
    """Omega's training set: entries' crops at `size`, pairs, and warps when warp-guided."""
    resized = [resize_entry(e, size) for e in entries]
    crops, landmarks = [c for c, _ in resized], [lm for _, lm in resized]
    pairs = GeneratorPairs(entries, reference_count=reference_count)
    warps = None
    if warp_guided:
        warps = WarpBank(entries, crops, landmarks, references=pairs.references,
                         frames=[omega_candidates(e) for e in entries], size=size,
                         workers=workers, progress=progress)
    return GeneratorDataset(entries, crops, landmarks, pairs, size=size, seed=seed, flip=flip,
                            warps=warps)


class GeneratorTrainer(Trainer):
    """`reenact train generator`: Omega and its PatchGAN on self-reenactment pairs."""

    task = "generator"

    def setup(self, split: Split) -> None:
        r, t = self.config.renderer, self.opts
        if t.disc_condition not in DISC_CONDITIONS:
            raise ConfigError(f"train.disc_condition: '{t.disc_condition}' is not one of "
                              f"{', '.join(DISC_CONDITIONS)}")
        warp_guided = r.variant == "warp_guided"
        if warp_guided and t.reference_frames < 1:
            raise ConfigError("train.reference_frames=0 (any frame) needs a warp per pair; set it "
                              "to 1-8 for renderer.variant=warp_guided")
        self.gen = self.prepare_module(UNetGenerator(ngf=r.ngf, size=r.size, variant=r.variant))
        disc_in = 6 if t.disc_condition == "target" else self.gen.in_channels + 3
        self.disc = self.prepare_module(PatchDiscriminator(in_channels=disc_in, ndf=t.ndf or r.ngf))
        self.gen_parallel = wrap(self.gen, self.info)
        self.disc_parallel = wrap(self.disc, self.info)
        betas = (t.beta1, t.beta2)
        self._optimizers = {
            "generator": torch.optim.Adam(self.gen.parameters(), lr=t.lr_g, betas=betas),
            "discriminator": torch.optim.Adam(self.disc.parameters(), lr=t.lr_d, betas=betas),
        }
        common = {"size": r.size, "seed": t.seed, "workers": max(1, t.num_workers),
                  "progress": self.progress}
        with main_first(self.info):  # rank 0 makes and caches the warps, the others read them
            self._dataset = build_dataset(split.train, reference_count=t.reference_frames,
                                          flip=t.flip, warp_guided=warp_guided, **common)
        self.val_pairs: list[GeneratorPair] = []
        if self.info.is_main:
            self.val_pairs = validation_pairs(split.val, t.val_frames)
        if self.val_pairs:
            # the warps are made for both variants: the training-free baseline needs them
            self.val_data = build_dataset(split.val, reference_count=1, flip=False,
                                          warp_guided=True, **common)

    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.gen, "discriminator": self.disc}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self._optimizers

    def dataset(self) -> GeneratorDataset:
        return self._dataset

    def final_network(self) -> nn.Module:
        return self.gen

    # ----- the step, as the paper reads -------------------------------------------------------

    def _condition(self, batch: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return batch["target"] if self.opts.disc_condition == "target" else x

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        with self.autocast():
            generated, mask = self.gen_parallel(x, return_mask=True)
        return generated.float(), None if mask is None else mask.float()

    def backward_D(self, condition: torch.Tensor, generated: torch.Tensor,
                   real: torch.Tensor) -> torch.Tensor:
        pairs = torch.cat([torch.cat([condition, real], 1),
                           torch.cat([condition, generated.detach()], 1)])
        with self.autocast():
            scores = self.disc_parallel(pairs).float()
        real_scores, fake_scores = scores.chunk(2)
        loss = losses.cgan_discriminator(real_scores, fake_scores)
        self.backward(loss, "discriminator")
        return loss

    def backward_G(self, condition: torch.Tensor, generated: torch.Tensor, real: torch.Tensor,
                   mask: torch.Tensor | None) -> dict[str, torch.Tensor]:
        t = self.opts
        with self.autocast():
            fake_scores = self.disc(torch.cat([condition, generated], 1)).float()  # grads off
        parts = losses.generator_losses(fake_scores, generated, real, mask=mask, mu_gan=t.mu_gan,
                                        mu_l1=t.mu_l1, attention_weight=t.attention_weight,
                                        tv_weight=t.attention_tv)
        self.backward(parts["total"], "generator")
        return parts

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        for optimizer in self._optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        x = generator_input(batch)
        condition = self._condition(batch, x)
        generated, mask = self.forward(x)
        self.disc.requires_grad_(True)
        loss_d = self.backward_D(condition, generated, batch["real"])
        self.disc.requires_grad_(False)
        parts = self.backward_G(condition, generated, batch["real"], mask)
        self.disc.requires_grad_(True)
        return {"disc": loss_d.item(), **{k: v.item() for k, v in parts.items()}}

    # ----- validation and images -----------------------------------------------------------------

    def validate(self) -> dict[str, Any] | None:
        if not self.val_pairs:
            return None
        record = validate_generator(self.gen, self.val_data, self.val_pairs, device=self.device,
                                    warp_guided=self.gen.variant == "warp_guided",
                                    batch_size=self.opts.batch_size)
        r = self.config.renderer
        return {"variant": r.variant, "ngf": r.ngf, "size": r.size,
                "identities": self.split.val_identities, **record}

    def sample_grid(self, batch: dict[str, torch.Tensor]) -> np.ndarray | None:
        from reenact.train.visuals import generator_grid  # noqa: PLC0415

        with torch.no_grad(), self.autocast():
            generated = self.gen(generator_input(batch)[:4])
        return generator_grid(batch, generated.float())


def _scores(images: list[np.ndarray], truths: list[np.ndarray]) -> dict[str, float]:
    from reenact.metrics.image import l1, psnr, ssim  # noqa: PLC0415

    return {
        "ssim": float(np.mean([ssim(a, b) for a, b in zip(images, truths)])),
        "psnr": float(np.mean([min(psnr(a, b), PSNR_CAP) for a, b in zip(images, truths)])),
        "l1": float(np.mean([l1(a, b) for a, b in zip(images, truths)])),
    }


def validate_generator(gen: UNetGenerator, data: GeneratorDataset, pairs: list[GeneratorPair], *,
                       device: torch.device, warp_guided: bool, batch_size: int) -> dict[str, Any]:
    """SSIM / PSNR / L1 (uint8 crops, `reenact.metrics.image`) of Omega on self-reenactment of
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

