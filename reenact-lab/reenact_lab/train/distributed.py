"""One training command for one process or many: torchrun sets RANK / WORLD_SIZE / LOCAL_RANK.

    torchrun --nproc_per_node 4 -m reenact.cli.main train generator -c train_generator

Without those variables the run is a single process. With them, the process group is gloo on
CPU and NCCL on CUDA (one GPU per process, by LOCAL_RANK); `train.batch_size` is the global batch,
split evenly over the processes; only rank 0 writes logs, images, checkpoints and weights.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist

from reenact.errors import ConfigError


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the run."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise ConfigError(f"environment {name}={value!r}: expected an integer") from None


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the process group torchrun describes (if any) and pick this process's device.

    device: "auto" (CUDA when available), "cpu" or "cuda".
    """
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda:
        if not torch.cuda.is_available():
            raise ConfigError("device cuda: no CUDA device is available; use cpu")
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
        dev = torch.device("cuda", torch.cuda.current_device())
    else:
        dev = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank=rank, world=world, local_rank=local_rank, device=dev)


def wrap(module: torch.nn.Module, info: DistInfo) -> torch.nn.Module:
    """DistributedDataParallel around `module` when several processes run, else `module`.

    BatchNorm becomes SyncBatchNorm on CUDA (so statistics cover the global batch as in one
    process); on CPU, SyncBatchNorm is unsupported and each process normalises its own share.
    """
    if not info.distributed:
        return module
    from torch.nn.parallel import DistributedDataParallel

    if info.device.type == "cuda":
        module = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
        return DistributedDataParallel(module, device_ids=[info.device.index])
    return DistributedDataParallel(module)


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DistributedDataParallel wrapper (or `module` itself)."""
    return getattr(module, "module", module)


def mean_over_ranks(values: dict[str, float], info: DistInfo) -> dict[str, float]:
    """Average scalar logs over the processes (identity in a single process)."""
    if not info.distributed or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    t /= info.world
    return dict(zip(keys, t.tolist()))


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()


@contextlib.contextmanager
def main_first(info: DistInfo) -> Iterator[None]:
    """Rank 0 runs the block first (e.g. to fill a disk cache), then the other ranks do."""
    if not info.is_main:
        barrier(info)
    yield
    if info.is_main:
        barrier(info)


def shutdown(info: DistInfo) -> None:
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()
