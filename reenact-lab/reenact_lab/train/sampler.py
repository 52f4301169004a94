"""Which samples each step trains on: a pure function of (seed, step), split across ranks.

Step s of an epoch of `steps_per_epoch` steps takes global batch b = s mod steps_per_epoch of the
epoch's permutation (torch.randperm seeded by seed and epoch). With W processes, rank r takes
every W-th sample of that global batch, so one process with batch B and W processes with B / W
each see exactly the same samples per step, and resuming at step s needs no replay. A sample key
is (epoch, index): the dataset seeds the sample's own randomness (pair choice, flip) from it.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

Key = tuple[int, int]


class StepBatchSampler:
    """A `batch_sampler` for torch's DataLoader yielding this rank's keys for steps
    start_step .. end_step - 1.

    num_samples: the dataset's length (samples per epoch); global_batch: samples per step over
    all ranks (divisible by world); rank / world: this process and how many there are.
    """

    def __init__(
        self,
        *,
        num_samples: int,
        global_batch: int,
        rank: int = 0,
        world: int = 1,
        seed: int = 0,
        start_step: int = 0,
        end_step: int,
    ) -> None:
        if global_batch % world:
            raise ValueError(f"batch size {global_batch} is not divisible by {world} processes")
        if num_samples < 1:
            raise ValueError("an empty dataset cannot be sampled")
        self.num_samples, self.global_batch = num_samples, global_batch
        self.rank, self.world, self.seed = rank, world, seed
        self.start_step, self.end_step = start_step, end_step
        self.steps_per_epoch = max(1, num_samples // global_batch)
        self._epoch: int | None = None
        self._perm: torch.Tensor | None = None

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            perm = torch.randperm(self.num_samples, generator=generator)
            while len(perm) < self.global_batch:  # fewer samples than a batch: repeat
                perm = torch.cat([perm, perm])
            self._epoch, self._perm = epoch, perm
        assert self._perm is not None
        return self._perm

    def keys_for(self, step: int) -> list[Key]:
        """This rank's (epoch, index) keys for `step`."""
        epoch, batch = divmod(step, self.steps_per_epoch)
        perm = self._permutation(epoch)
        chunk = perm[batch * self.global_batch : (batch + 1) * self.global_batch]
        # a repeated index (tiny data) gets a distinct key (index + k * num_samples) so that its
        # randomness differs; the dataset reads index mod its length
        keys = [(epoch, i + self.num_samples * k) for k, i in _repeat_counts(chunk.tolist())]
        return keys[self.rank :: self.world]

    def __iter__(self) -> Iterator[list[Key]]:
        for step in range(self.start_step, self.end_step):
            yield self.keys_for(step)

    def __len__(self) -> int:
        return max(0, self.end_step - self.start_step)


def _repeat_counts(indices: list[int]) -> list[tuple[int, int]]:
    seen: dict[int, int] = {}
    out = []
    for i in indices:
        out.append((seen.get(i, 0), i))
        seen[i] = seen.get(i, 0) + 1
    return out
