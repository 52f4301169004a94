"""`reenact train fusion_residual`: Phi as a correction of the training-free transfer.

    J_gen = L_t + s * (L_s - N_s) + C(L_s - N_s, N_s, L_t)       (reenact_lab.nn.fusion_residual)
    D_J:  0.5 * (BCE(D_J(J_real) -> 1) + BCE(D_J(J_gen) -> 0))
    Phi:  lambda1 * BCE(D_J(J_gen) -> 1)                            adversarial  (paper, 0.1)
        + lambda2 * || fuse(J_gen; L_t -> N_s) - L_s ||_1           cycle        (paper, 10)
        + lambda3 * || J_gen - J_o ||_1          (paired only)      L1           (paper, 100)
        + lambda_amp * sum_r | size_r(J_gen - L_t) - size_r(s * (L_s - N_s)) |  amplitude (added)
        + lambda_c * mean |C|                                        correction size (added)

size_r is the mean xy length of a region's deviation (eyes, brows, mouth, jaw): the amplitude
term keeps each region's expression as large as the training-free transfer makes it (the actor's
deviation resized by the two faces' region sizes), so the L1 term can only change its shape; the
correction-size term keeps only corrections that pay for themselves across many pairs (with
a few dozen people, the rest is what the network would overfit). The cycle carries the fused face back onto the actor through the same
network (the paper's `Phi(J_gen, Phi(L_t, L_s))` with neutrals). Adam (beta1, beta2),
lr train.lr_fusion for both networks. Pairs: `reenact_lab.train.fusion_data`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from reenact.config.schema import Config
from reenact.engine.weights import save_module
from reenact.fusion.transfer import TrainingFreeFusion
from reenact.landmarks.expressiveness import GAIN_REGIONS
from reenact_lab import get_logger
from reenact_lab.nn import losses
from reenact_lab.nn.fusion import LandmarkDiscriminator
from reenact_lab.nn.fusion_residual import ResidualFusion
from reenact_lab.train import checkpoints
from reenact_lab.train.fusion_data import PairSampler, Person, load_people
from reenact_lab.train.fusion_validate import Fuse, measure, px, training_free

log = get_logger(__name__)
TASK = "fusion_residual"
HALF = 128.0  # unit coordinates -> 256-crop pixels: (u + 1) * HALF


def _px(unit: np.ndarray) -> np.ndarray:
    out = unit * np.float32(HALF)
    out[..., :2] += HALF
    return out


def point_scales(
    free: TrainingFreeFusion, source_neutral: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """(B,478,3) unit neutrals -> (B,478,3) the transfer's per-point scale (z takes x's)."""
    out = np.empty(source_neutral.shape, np.float32)
    for i, (n, t) in enumerate(zip(_px(source_neutral), _px(target))):
        s = free.point_scales(n, t)
        out[i, :, :2], out[i, :, 2] = s, s[:, 0]
    return out


def fuse(phi: ResidualFusion, source, source_neutral, target, scales) -> torch.Tensor:
    """J_gen = L_t + s * (L_s - N_s) + C, all (B,478,3) unit coordinates."""
    deviation = source - source_neutral
    return target + scales * deviation + phi(deviation, source_neutral, target)


def correction_size(fused: torch.Tensor, source, source_neutral, target, scales) -> torch.Tensor:
    """Mean |C| of a batch (unit coordinates): what the network adds to the transfer."""
    return (fused - target - scales * (source - source_neutral)).abs().mean()


def region_sizes(deviation: torch.Tensor) -> torch.Tensor:
    """(B,478,3) -> (B,4) mean xy length of the deviation per gain region."""
    return torch.stack(
        [
            deviation[:, idx, :2].norm(dim=-1).mean(dim=1)
            for idx in map(torch.as_tensor, GAIN_REGIONS.values())
        ],
        dim=1,
    )


_PX_SHIFT = np.array([HALF, HALF, 0.0], np.float32)  # crop pixels -> unit coordinates


def residual_fuser(phi) -> Fuse:
    """The residual Phi (`reenact_lab.nn.fusion_residual`) as a batched pixel fuser."""
    free = TrainingFreeFusion()

    def run(source, source_neutral, target):
        unit = [
            torch.from_numpy((a - _PX_SHIFT) / np.float32(HALF))
            for a in (source, source_neutral, target)
        ]
        scales = torch.from_numpy(point_scales(free, unit[1].numpy(), unit[2].numpy()))
        with torch.no_grad():
            return px(fuse(phi, *unit, scales).numpy())

    return run


def validate(phi, people: list[Person]) -> dict[str, Any]:
    """The residual Phi and the training-free transfer on `people` (held out of training)."""
    was_training = phi.training
    phi.eval()
    record = {
        "phi": measure(residual_fuser(phi), people),
        "training_free": measure(training_free(), people),
    }
    phi.train(was_training)
    return record


class ResidualFusionTrainer:
    """Phi (the correction) and D_J on landmark pairs; checkpoints resume across commands."""

    def __init__(self, config: Config) -> None:
        t = config.train
        self.config, self.opts = config, t
        self.out_dir = Path(t.out_dir)
        held = set(t.val_holdout) | set(t.fusion_test_holdout)
        self.people = load_people(t.cache, exclude=held)
        self.val_people = load_people(t.cache, include=t.val_holdout)
        f = config.fusion
        self.phi = ResidualFusion(hidden=f.hidden, code=f.code, basis=t.fusion_basis)
        with torch.no_grad():
            self.phi.mean_face.copy_(
                torch.from_numpy(np.mean([p.neutral for p in self.people], axis=0))
            )
        self.disc = LandmarkDiscriminator(hidden=t.fusion_disc_hidden or f.hidden)
        betas = (t.beta1, t.beta2)
        self.optimizers = {
            "fusion": torch.optim.Adam(self.phi.parameters(), lr=t.lr_fusion, betas=betas),
            "fusion_disc": torch.optim.Adam(self.disc.parameters(), lr=t.lr_fusion, betas=betas),
        }
        self.free = TrainingFreeFusion()
        self._scales: dict[tuple[str, str], np.ndarray] = {}
        self.neutral_of = {p.name: p.neutral for p in self.people}
        self.sampler = PairSampler(self.people, tuple(t.fusion_pairs_mix), t.seed)

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"fusion": self.phi, "fusion_disc": self.disc}

    def _scale(self, source: str, target: str) -> np.ndarray:
        key = (source, target)  # one pair of neutrals: the transfer's scales are computed once
        if key not in self._scales:
            neutrals = [self.neutral_of[n][None] for n in key]
            self._scales[key] = point_scales(self.free, *neutrals)[0]
        return self._scales[key]

    def _batch(self) -> dict[str, torch.Tensor]:
        b = self.sampler.batch(self.opts.batch_size)
        people = b.pop("people")
        b["scales"] = np.stack([self._scale(a, t) for a, t in people])
        b["back"] = np.stack([self._scale(t, a) for a, t in people])
        return {k: torch.from_numpy(v) for k, v in b.items()}

    def train_step(self, b: dict[str, torch.Tensor]) -> dict[str, float]:
        t = self.opts
        for optimizer in self.optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        fused = fuse(self.phi, b["source"], b["source_neutral"], b["target"], b["scales"])
        paired = b["paired"].view(-1, 1, 1) > 0
        real = torch.where(paired, b["real"], b["source"])
        scores = self.disc(torch.cat([real, fused.detach()]) - self.phi.mean_face)
        loss_d = losses.discriminator_loss(*scores.chunk(2))
        loss_d.backward()
        self.optimizers["fusion_disc"].step()
        self.disc.requires_grad_(False)
        back = fuse(self.phi, fused, b["target"], b["source_neutral"], b["back"])
        reference = region_sizes(b["scales"] * (b["source"] - b["source_neutral"]))
        per_sample = (fused - b["real"]).abs().mean(dim=(1, 2))
        parts = {
            "fusion_adversarial": losses.fusion_adversarial(
                self.disc(fused - self.phi.mean_face), weight=t.lambda_adv
            ),
            "fusion_cycle": t.lambda_cycle * F.l1_loss(back, b["source"]),
            "fusion_l1": t.lambda_l1_fusion * (per_sample * b["paired"]).mean(),
            "fusion_amplitude": t.lambda_amplitude
            * (region_sizes(fused - b["target"]) - reference).abs().sum(dim=1).mean(),
            "fusion_correction": t.lambda_correction
            * correction_size(fused, b["source"], b["source_neutral"], b["target"], b["scales"]),
        }
        total = sum(parts.values())
        total.backward()
        self.optimizers["fusion"].step()
        self.disc.requires_grad_(True)
        return {
            "disc": loss_d.item(),
            **{k: v.item() for k, v in parts.items()},
            "total": total.item(),
        }

    def _resume(self) -> int:
        folder = checkpoints.resolve_resume(self.opts.resume, self.out_dir)
        if folder is None:
            return 0
        state = checkpoints.load_checkpoint(
            folder, task=TASK, networks=self.networks(), optimizers=self.optimizers
        )
        self.sampler.rng = np.random.default_rng([self.opts.seed, state["step"]])
        log.info("resumed from %s (step %d)", folder, state["step"])
        return int(state["step"])

    def validate(self, step: int) -> dict[str, Any]:
        record = {"step": step, **validate(self.phi, self.val_people)}
        with open(self.out_dir / "validation.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return record

    def run(self, max_seconds: float = 0.0) -> Path:
        """Train to train.steps (or for max_seconds); checkpoint; write fusion.safetensors."""
        t = self.opts
        self.out_dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(t.seed)
        step, start, history = self._resume(), time.monotonic(), []
        while step < t.steps and not (max_seconds and time.monotonic() - start > max_seconds):
            history.append(self.train_step(self._batch()))
            step += 1
            if step % t.log_every == 0:
                means = {k: float(np.mean([h[k] for h in history])) for k in history[0]}
                history = []
                log.info("step %d %s", step, json.dumps({k: round(v, 4) for k, v in means.items()}))
            if step % t.val_every == 0:
                log.info("validation %s", json.dumps(self.validate(step)))
            if step % t.ckpt_every == 0 or step == t.steps:
                checkpoints.save_checkpoint(
                    self.out_dir,
                    step,
                    task=TASK,
                    config=self.config,
                    networks=self.networks(),
                    optimizers=self.optimizers,
                )
        checkpoints.save_checkpoint(
            self.out_dir,
            step,
            task=TASK,
            config=self.config,
            networks=self.networks(),
            optimizers=self.optimizers,
        )
        return save_module(self.out_dir / "fusion.safetensors", self.phi, {"steps": step})


def run_cli(config: Config, max_seconds: float = 0.0) -> int:
    """Entry of `reenact train fusion_residual`. One torch thread: the model is small, and
    more threads only fight over a shared CPU."""
    torch.set_num_threads(1)
    weights = ResidualFusionTrainer(config).run(max_seconds)
    print(f"wrote {weights}")
    return 0
