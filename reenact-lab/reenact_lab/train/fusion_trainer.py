"""Training Phi, the landmark-fusion autoencoder (Fan et al. 2023), pix2pix style.

    J_gen = L_t + Phi(L_s, L_t)
    D_J:  0.5 * (BCE(D_J(J_real) -> 1) + BCE(D_J(J_gen) -> 0))
    Phi:  lambda1 * BCE(D_J(J_gen) -> 1)                          adversarial, lambda1 = 0.1
        + lambda2 * || Phi(J_gen, Phi(L_t, L_s)) - L_s ||_1       cycle,       lambda2 = 10
        + lambda3 * || J_gen - J_o ||_1   (paired samples only)   L1,          lambda3 = 100

Adam, betas (0.5, 0.999), batch 8 (train.batch_size), lr train.lr_fusion for both. The real
landmark sets D_J sees are J_o where the pair has one, else L_s (always a tracked face). The L1
term is summed over the paired samples and divided by the batch size, so that it is the same
whether the batch is in one process or split over several.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reenact.errors import InputError
from reenact.fusion.transfer import TrainingFreeFusion
from reenact_lab.nn import losses
from reenact_lab.nn.fusion import LandmarkDiscriminator, LandmarkFusionAE
from reenact_lab.train.datasets import FusionDataset
from reenact_lab.train.distributed import unwrap, wrap
from reenact_lab.train.pairs import FUSION_KINDS, FusionPairs, LandmarkPair, Split
from reenact_lab.train.trainer import Trainer
from reenact_lab.train.visuals import fusion_grid

VAL_PAIRS = 64  # validation pairs per paired kind
IOD_UNIT = 0.5  # the aligned crop's inter-ocular distance (0.25 * size) in unit coordinates


class FusionCycle(nn.Module):
    """Phi's whole generator pass in one forward (one DDP call per step):
    J_gen = fuse(L_s, L_t) and the cycle's fuse(J_gen, fuse(L_t, L_s))."""

    def __init__(self, phi: LandmarkFusionAE) -> None:
        super().__init__()
        self.phi = phi

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """source L_s, target L_t: (B,478,3) unit -> (J_gen, reconstructed L_s), both (B,478,3)."""
        fused = self.phi.fuse(source, target)
        swapped = self.phi.fuse(target, source)
        return fused, self.phi.fuse(fused, swapped)


class FusionTrainer(Trainer):
    """`reenact train fusion`: Phi and D_J on the pairs of `reenact_lab.train.pairs`."""

    task = "fusion"

    def setup(self, split: Split) -> None:
        f, t = self.config.fusion, self.opts
        self.phi = self.prepare_module(LandmarkFusionAE(hidden=f.hidden, code=f.code))
        self.disc = self.prepare_module(
            LandmarkDiscriminator(hidden=t.fusion_disc_hidden or f.hidden))
        self.generator_pass = wrap(FusionCycle(self.phi), self.info)
        self.disc_parallel = wrap(self.disc, self.info)
        betas = (t.beta1, t.beta2)
        self._optimizers = {
            "fusion": torch.optim.Adam(self.phi.parameters(), lr=t.lr_fusion, betas=betas),
            "fusion_disc": torch.optim.Adam(self.disc.parameters(), lr=t.lr_fusion, betas=betas),
        }
        self.pairs = FusionPairs(split.train, t.fusion_mix)
        self._dataset = FusionDataset(self.pairs, seed=t.seed, flip=t.flip)
        self.val_pairs = validation_pairs(split, seed=t.seed)

    def networks(self) -> dict[str, nn.Module]:
        return {"fusion": self.phi, "fusion_disc": self.disc}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self._optimizers

    def dataset(self) -> FusionDataset:
        return self._dataset

    def final_network(self) -> nn.Module:
        return self.phi

    # ----- the step, as the paper reads -------------------------------------------------------

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        with self.autocast():
            fused, reconstructed = self.generator_pass(batch["source"], batch["target"])
        return fused.float(), reconstructed.float()

    def backward_D(self, batch: dict[str, torch.Tensor], fused: torch.Tensor) -> torch.Tensor:
        paired = batch["paired"].view(-1, 1, 1) > 0
        real = torch.where(paired, batch["real"], batch["source"])
        with self.autocast():
            scores = self.disc_parallel(torch.cat([real, fused.detach()])).float()
        real_scores, fake_scores = scores.chunk(2)
        loss = losses.discriminator_loss(real_scores, fake_scores)
        self.backward(loss, "fusion_disc")
        return loss

    def backward_G(self, batch: dict[str, torch.Tensor], fused: torch.Tensor,
                   reconstructed: torch.Tensor) -> dict[str, torch.Tensor]:
        t = self.opts
        with self.autocast():
            fake_scores = self.disc(fused).float()  # unwrapped D_J: its grads are off here
        per_sample = (fused - batch["real"]).abs().mean(dim=(1, 2))
        parts = {
            "fusion_adversarial": losses.fusion_adversarial(fake_scores, weight=t.lambda_adv),
            "fusion_cycle": t.lambda_cycle * F.l1_loss(reconstructed, batch["source"]),
            "fusion_l1": t.lambda_l1_fusion * (per_sample * batch["paired"]).mean(),
        }
        total = sum(parts.values())
        self.backward(total, "fusion")
        return {**parts, "total": total}

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        for optimizer in self._optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        fused, reconstructed = self.forward(batch)
        self.disc.requires_grad_(True)
        loss_d = self.backward_D(batch, fused)
        self.disc.requires_grad_(False)
        parts = self.backward_G(batch, fused, reconstructed)
        self.disc.requires_grad_(True)
        return {"disc": loss_d.item(), **{k: v.item() for k, v in parts.items()}}

    # ----- validation and images -----------------------------------------------------------------

    def validate(self) -> dict[str, Any] | None:
        if not self.val_pairs:
            return None
        return validate_fusion(unwrap(self.phi), self.val_pairs, size=self.config.renderer.size,
                               device=self.device, identities=self.split.val_identities)

    def sample_grid(self, batch: dict[str, torch.Tensor]) -> np.ndarray | None:
        with torch.no_grad():
            fused = self.phi.fuse(batch["source"][:4], batch["target"][:4])
        return fusion_grid(batch, fused, size=self.config.renderer.size)


def validation_pairs(split: Split, *, seed: int) -> list[LandmarkPair]:
    """Fixed paired validation pairs (cross and same) of the held-out identities."""
    if not split.val:
        return []
    try:
        pairs = FusionPairs(split.val, (1.0, 1.0, 0.0))
    except InputError:  # nothing paired among the held-out entries
        return []
    rng = np.random.default_rng([seed, 7])
    kinds = [k for k, w in zip(FUSION_KINDS, pairs.weights) if w > 0]
    return [pairs.sample(rng, kind) for kind in kinds for _ in range(VAL_PAIRS)]


_XY_SHIFT = np.array([1.0, 1.0, 0.0], np.float32)


def to_px(unit: np.ndarray, size: int) -> np.ndarray:
    """Unit coordinates -> `size`-crop pixels (z unchanged)."""
    return (unit + _XY_SHIFT) * np.float32(size / 2.0)


def _from_px(pixels: np.ndarray, size: int) -> np.ndarray:
    return pixels * np.float32(2.0 / size) - _XY_SHIFT


def _nme(a: np.ndarray, b: np.ndarray) -> float:
    """Mean xy point distance over IOD (unit coordinates)."""
    return float(np.linalg.norm(a[..., :2] - b[..., :2], axis=-1).mean() / IOD_UNIT)


def validate_fusion(phi: LandmarkFusionAE, pairs: list[LandmarkPair], *, size: int,
                    device: torch.device, identities: list[str]) -> dict[str, Any]:
    """Normalised mean error (xy distance / inter-ocular distance) of J_gen against J_o per pair
    kind, for Phi as the paper applies it (L_t + Phi(L_s, L_t)), as the live loop does
    (L_t + Phi(L_s, L_t) - Phi(N_s, L_t)), and for two baselines: no change (L_t) and the
    training-free transfer (`reenact.fusion.transfer`)."""
    was_training = phi.training
    phi.eval()
    free = TrainingFreeFusion()
    record: dict[str, Any] = {"identities": identities, "pairs": len(pairs)}
    for kind in sorted({p.kind for p in pairs}):
        group = [p for p in pairs if p.kind == kind]
        source, target, real = (torch.from_numpy(np.stack([getattr(p, k) for p in group]))
                                .to(device) for k in ("source", "target", "real"))
        neutral = torch.from_numpy(np.stack([
            p.source_neutral if p.source_neutral is not None else p.source for p in group
        ])).to(device)
        with torch.no_grad():
            paper = phi.fuse(source, target).cpu().numpy()
            live = (target + phi(source, target) - phi(neutral, target)).cpu().numpy()
        baseline = np.stack([
            _from_px(free.fuse(to_px(p.source, size), to_px(n, size), to_px(p.target, size),
                               1.0), size)
            for p, n in zip(group, neutral.cpu().numpy())
        ])
        real_np = real.cpu().numpy()
        record[kind] = {
            "nme": _nme(paper, real_np), "nme_live": _nme(live, real_np),
            "baselines": {"target": _nme(target.cpu().numpy(), real_np),
                          "training_free": _nme(baseline, real_np)},
        }
    kinds = [record[k] for k in record if isinstance(record[k], dict)]
    record["nme"] = float(np.mean([kind["nme"] for kind in kinds]))
    phi.train(was_training)
    return record
