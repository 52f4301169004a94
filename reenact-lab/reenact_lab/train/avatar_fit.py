"""The avatar fine-tune: the shipped warp-guided generator, trained on one person's frames for a
time budget, validated on the clips' held-out tails, the best validated weights kept.

    I_gen = Omega(P_t, image(L_o), warp(P_t -> L_o))
    loss  = || I_gen - I_o ||_1 + SSIM_WEIGHT (1 - SSIM(I_gen, I_o)) + REGIONS_WEIGHT L1_eyes+mouth

No discriminator: in a few hundred steps a PatchGAN trained from nothing only adds noise to the
gradient, and the goal is measured in SSIM / PSNR. BatchNorm keeps the shipped running
statistics (frozen: batches of 8 from one person would move them away from what the rest of the
network learned with). Adam, lr 3e-4 cosine-decayed to 3e-5 over the time budget.

The shipped weights are averaged back in at the end (WiSE-FT: `WISE_ALPHA` of the best
fine-tuned weights, the rest the shipped ones): the fine-tune alone fits its clips' sessions and
loses PSNR on another session of the same person, the average keeps its gains there.

Validation (`validate`): the clip's neutral frame drives each held-out frame's landmarks; SSIM /
PSNR against the real frame of the unchanged reference, the training-free warp, the shipped
generator and the personal one (`reenact_lab.metrics.image`, uint8 crops).
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from reenact.engine.shipped import MODELS_DIR
from reenact_lab import get_logger
from reenact_lab.metrics.image import psnr, ssim
from reenact_lab.nn import detail_losses
from reenact_lab.train.avatar_pairs import AvatarPairs, Batches
from reenact_lab.train.datasets import generator_input, tensor_to_image

log = get_logger(__name__)

SSIM_WEIGHT = 0.5  # the structure term the goal is measured in, beside L1
REGIONS_WEIGHT = 1.0  # eyes and mouth count again: where the person's own teeth and lids are
EDGE_WEIGHT = 0.0  # finite-difference L1 against softness: off, no SSIM / PSNR gain (avatar-recipe)
LR = 3e-4  # a short budget: beat 1e-4 at every step count compared (the dated note)
LR_FLOOR = 0.1  # the cosine ends at this share of LR
PSNR_CAP = 100.0
WISE_ALPHA = 0.5  # the fine-tune's share in the shipped weights: WiSE-FT's middle, not tuned
SHIPPED = "generator_256.safetensors"


@dataclass
class FitOptions:
    """deadline: time.perf_counter() by which the fine-tune (and its last validation) must end;
    max_steps: 0 = none (tests and dry runs stop early); workers: data threads."""

    deadline: float
    device: torch.device
    batch_size: int = 8
    max_steps: int = 0
    workers: int = 1
    seed: int = 0
    val_every_s: float = 60.0
    progress: bool = True


@dataclass
class FitResult:
    model: torch.nn.Module
    meta: dict[str, str]
    steps: int = 0
    best_step: int = 0
    seconds: float = 0.0
    stopped: str = "time"
    start: dict[str, Any] = field(default_factory=dict)
    best: dict[str, Any] = field(default_factory=dict)
    fine_tuned: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


def load_shipped(device: torch.device) -> tuple[torch.nn.Module, dict[str, str]]:
    from reenact.render.generator import load_generator

    model, meta = load_generator(MODELS_DIR / SHIPPED)
    return model.float().to(device), meta


def _gaussian(device: torch.device) -> torch.Tensor:
    x = torch.arange(11, dtype=torch.float32, device=device) - 5
    g = torch.exp(-(x**2) / (2 * 1.5**2))
    g = (g / g.sum())[:, None] * (g / g.sum())[None, :]
    return g.expand(3, 1, 11, 11).contiguous()


def ssim_loss(a: torch.Tensor, b: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """1 - SSIM of (B,3,S,S) images in [-1,1] (Gaussian 11 / 1.5, as `reenact_lab.metrics.image`)."""
    a, b = (a + 1) * 0.5, (b + 1) * 0.5
    c1, c2 = 0.01**2, 0.03**2

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, window, groups=3)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    s = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    s = s / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return 1 - s.mean()


def _scores(images: list[np.ndarray], truths: list[np.ndarray]) -> dict[str, float]:
    return {
        "ssim": round(float(np.mean([ssim(a, b) for a, b in zip(images, truths)])), 4),
        "psnr": round(
            float(np.mean([min(psnr(a, b), PSNR_CAP) for a, b in zip(images, truths)])), 3
        ),
    }


def generate(
    model: torch.nn.Module, pairs: AvatarPairs, device: torch.device, batch: int = 8
) -> list[np.ndarray]:
    """The model's crops for the validation pairs, (S,S,3) uint8 each."""
    was = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(pairs.val), batch):
            data = pairs.val_batch(pairs.val[start : start + batch])
            x = generator_input({k: v.to(device) for k, v in data.items()})
            out += [tensor_to_image(t) for t in model(x).float()]
    if was:
        freeze_norms(model)
    return out


def baselines(pairs: AvatarPairs, shipped: list[np.ndarray]) -> dict[str, dict[str, float]]:
    """Scores of the unchanged reference, the warp and the shipped generator on the tails."""
    crops = pairs.crops
    truths = [crops[p.entry][p.truth] for p in pairs.val]
    refs = [crops[p.entry][p.reference] for p in pairs.val]
    warps = [pairs.warps.get(p.entry, p.reference, p.truth) for p in pairs.val]
    return {
        "reference": _scores(refs, truths),
        "warp": _scores(warps, truths),
        "shipped": _scores(shipped, truths),
    }


def personal_scores(
    model: torch.nn.Module, pairs: AvatarPairs, device: torch.device
) -> dict[str, float]:
    truths = [pairs.crops[p.entry][p.truth] for p in pairs.val]
    return _scores(generate(model, pairs, device), truths)


def freeze_norms(model: torch.nn.Module) -> None:
    """Train mode, BatchNorm layers kept in eval mode (their shipped statistics)."""
    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()


def set_threads(device: torch.device) -> None:
    """All the cores this process may use for torch on a CPU (the data threads mostly wait on
    cv2 and numpy, which release the GIL)."""
    if device.type == "cpu":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        torch.set_num_threads(max(1, cores or 1))


def learning_rate(elapsed: float, budget: float) -> float:
    f = min(1.0, elapsed / max(budget, 1e-6))
    return LR * (LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + math.cos(math.pi * f)))


def edge_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """L1 between the horizontal and vertical finite differences of two (B,C,S,S) images."""
    dx = F.l1_loss(a[..., :, 1:] - a[..., :, :-1], b[..., :, 1:] - b[..., :, :-1])
    dy = F.l1_loss(a[..., 1:, :] - a[..., :-1, :], b[..., 1:, :] - b[..., :-1, :])
    return dx + dy


def train_step(model, optimizer, batch, window) -> float:
    generated = model(generator_input(batch))
    real = batch["real"]
    loss = (
        F.l1_loss(generated, real)
        + SSIM_WEIGHT * ssim_loss(generated, real, window)
        + detail_losses.regions_l1(generated, real, batch["landmarks"], weight=REGIONS_WEIGHT)
    )
    if EDGE_WEIGHT:
        loss = loss + EDGE_WEIGHT * edge_loss(generated, real)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def wise_state(
    tuned: dict[str, torch.Tensor], start: dict[str, torch.Tensor], alpha: float = WISE_ALPHA
) -> dict[str, torch.Tensor]:
    """`alpha` * tuned + (1 - alpha) * start for floating tensors; counters kept from `tuned`."""
    return {
        k: torch.lerp(start[k], v, alpha) if v.is_floating_point() else v.clone()
        for k, v in tuned.items()
    }


def best_copy(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    best = copy.deepcopy(model)
    best.load_state_dict(state)
    return best.eval()


def _now() -> float:
    return time.perf_counter()


EXPORT_RESERVE_S = 15.0  # seconds kept after training for the ONNX export and the avatar file


class _Run:
    """The state of one fine-tune: the model, its optimiser, the best validated weights."""

    def __init__(self, pairs: AvatarPairs, opts: FitOptions) -> None:
        self.pairs, self.opts, self.device = pairs, opts, opts.device
        self.model, meta = load_shipped(self.device)
        self.result = FitResult(model=self.model, meta=meta)
        self.window = _gaussian(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR, betas=(0.9, 0.999))
        t0 = _now()
        scores = baselines(pairs, generate(self.model, pairs, self.device))
        self.val_s = _now() - t0
        self.result.start = {**scores, "personal": scores["shipped"]}
        self.result.best = dict(self.result.start)
        self.start_state = self.best_state = snapshot(self.model)
        self.started = _now()

    def validate(self, step: int) -> dict[str, float]:
        scores = personal_scores(self.model, self.pairs, self.device)
        self.result.history.append(
            {"step": step, "seconds": round(_now() - self.started, 1), **scores}
        )
        if scores["ssim"] > self.result.best["personal"]["ssim"]:
            self.result.best = {**self.result.best, "personal": scores}
            self.result.best_step, self.best_state = step, snapshot(self.model)
        return scores

    def average(self) -> None:
        """Keep the average with the shipped weights (`wise_state`) unless it validates below
        the shipped generator, which the best fine-tuned weights never do."""
        state = wise_state(self.best_state, self.start_state)
        self.model.load_state_dict(state)
        scores = personal_scores(self.model, self.pairs, self.device)
        self.result.fine_tuned = self.result.best["personal"]
        if scores["ssim"] >= self.result.start["shipped"]["ssim"]:
            self.result.best = {**self.result.best, "personal": scores}
            self.best_state = state

    def stop_at(self) -> float:
        """When training must stop: the last validations and the export still fit."""
        return self.opts.deadline - EXPORT_RESERVE_S - 3 * self.val_s


def _bar(opts: FitOptions, seconds: float):
    from tqdm import tqdm

    return tqdm(
        total=max(1, int(seconds)),
        unit="s",
        desc="avatar",
        disable=not opts.progress,
        bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
    )


def _loop(run: _Run, batches: Batches) -> None:
    opts, model = run.opts, run.model
    budget = max(1.0, run.stop_at() - run.started)
    last_val, step, score = run.started, 0, run.result.start["personal"]["ssim"]
    with _bar(opts, budget) as bar:
        try:
            while _now() < run.stop_at() and not (opts.max_steps and step >= opts.max_steps):
                for group in run.optimizer.param_groups:
                    group["lr"] = learning_rate(_now() - run.started, budget)
                batch = {k: v.to(run.device, non_blocking=True) for k, v in batches.next().items()}
                train_step(model, run.optimizer, batch, run.window)
                step += 1
                if _now() - last_val >= opts.val_every_s:
                    score, last_val = run.validate(step)["ssim"], _now()
                bar.n = min(bar.total, int(_now() - run.started))
                bar.set_description_str(f"avatar step {step}, val SSIM {score:.4f}", refresh=True)
        except KeyboardInterrupt:
            run.result.stopped = "interrupted"
            log.warning("stopped at step %d: keeping the best validated weights", step)
        else:
            run.result.stopped = "steps" if opts.max_steps and step >= opts.max_steps else "time"
    run.result.steps = step


def fit_avatar(pairs: AvatarPairs, opts: FitOptions) -> FitResult:
    """Fine-tune the shipped generator on `pairs` until `opts.deadline` (or max_steps, or
    Ctrl-C); returns the best validated weights averaged with the shipped ones (`average`),
    or the shipped ones when no step beat them."""
    set_threads(opts.device)
    torch.manual_seed(opts.seed)
    run = _Run(pairs, opts)
    freeze_norms(run.model)
    batches = Batches(pairs, opts.batch_size, opts.workers)
    try:
        _loop(run, batches)
    finally:
        batches.close()
    if run.result.steps and (
        not run.result.history or run.result.history[-1]["step"] != run.result.steps
    ):
        run.validate(run.result.steps)
    result = run.result
    if not result.steps:
        log.warning(
            "no time left to train after preparing: the avatar keeps the shipped "
            "generator; give more --minutes"
        )
    elif result.best_step:
        run.average()
    result.seconds = round(_now() - run.started, 1)
    result.model = best_copy(run.model, run.best_state)
    return result
