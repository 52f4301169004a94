"""An exponential moving average of a network's weights (`train.ema`), on torch's AveragedModel.

The generator's validation swings by +-0.005 SSIM from one check to the next, and on the 2026-11-23
GPU run its best weights came from the middle of the run (docs/TRAINING_ON_GPU.md). An average
of the weights over the last ~1 / (1 - decay) steps is what a GAN's generator is usually
validated and shipped as (Karras et al. 2018, Yazici et al. 2019): the optimiser keeps training
the live weights, the average is what validation scores and what the run saves.

The decay warms up as min(decay, (1 + n) / (10 + n)) over the n updates so far, so the first
hundreds of steps of a run from scratch do not linger in the average. Buffers (BatchNorm's
running statistics) are copied from the live network, not averaged.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from reenact.errors import ConfigError


def warmed_decay(decay: float, updates: int) -> float:
    """The decay of update number `updates` (0 for the first): min(decay, (1 + n) / (10 + n))."""
    return min(decay, (1.0 + updates) / (10.0 + updates))


class WeightAverage(AveragedModel):
    """AveragedModel of `net` with the warmed-up exponential decay; `.module` is the average, a
    network of the same class (its `arch_meta` too), saved and loaded as `net` is. Its own
    state_dict (module.* and n_averaged) is what a checkpoint keeps, so a resumed run goes on
    with the same average."""

    def __init__(self, net: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ConfigError(
                f"train.ema: {decay}; expected a decay in (0, 1), e.g. 0.999, or 0 for no average"
            )
        self.decay = float(decay)
        super().__init__(net, use_buffers=False)
        self.module.requires_grad_(False)

    def arch_meta(self) -> dict:
        return self.module.arch_meta()

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        """One step of the average towards `net`'s weights (the first copies them); its buffers
        copied as they are. One host read a step (the count), one lerp a tensor."""
        updates = int(self.n_averaged)
        weight = 1.0 if updates == 0 else 1.0 - warmed_decay(self.decay, updates)
        for mine, theirs in zip(self.module.parameters(), net.parameters()):
            mine.lerp_(theirs.detach().to(mine.dtype), weight)
        for mine, theirs in zip(self.module.buffers(), net.buffers()):
            mine.copy_(theirs)
        self.n_averaged += 1
