"""The training loop both modules share: data, seeds, AMP, DDP, logging, checkpoints, resume.

A trainer subclass (`FusionTrainer`, `GeneratorTrainer`) builds its networks, optimizers and
dataset in `setup`, and writes the step the way the paper reads (`train_step`: forward;
backward_D; step; backward_G; step). `Trainer.run` does the rest:

- step s trains on the samples `StepBatchSampler` gives for s (a function of seed and s), with
  torch's RNG reseeded to (seed, s): a resumed run continues exactly as an uninterrupted one;
- every `log_every` steps: losses averaged over ranks and the interval, and images/s, to
  TensorBoard and metrics.jsonl; every `image_every`: a PNG grid; every `val_every`: validation
  on the held-out identities (validation.json); every `ckpt_every`: a checkpoint;
- at the end: a checkpoint, a last validation and the final weights `<task>.safetensors`
  (with arch meta), the file `fusion.weights` / `renderer.weights` load in the live pipeline.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from reenact.config.schema import Config
from reenact.engine.weights import load_weights, save_weights
from reenact.errors import ConfigError
from reenact.nn.common import num_parameters
from reenact_lab import get_logger
from reenact_lab.train import checkpoints
from reenact_lab.train.cache import CacheEntry, is_cache, read_cache
from reenact_lab.train.distributed import DistInfo, barrier, init_distributed, mean_over_ranks
from reenact_lab.train.identities import assign_identities
from reenact_lab.train.pairs import Split, split_by_identity
from reenact_lab.train.prepare import prepare
from reenact_lab.train.runlog import RunLogger
from reenact_lab.train.sampler import StepBatchSampler

log = get_logger(__name__)

AMP_MODES = ("auto", "off", "bf16", "fp16")


@dataclass
class TrainResult:
    """What a run did: final step, weights file, per-step losses, last validation, speed."""

    steps: int
    weights: Path | None
    history: list[dict[str, float]] = field(default_factory=list)
    validation: dict[str, Any] | None = None
    images_per_s: float = 0.0
    parameters: dict[str, int] = field(default_factory=dict)
    out_dir: Path = Path(".")


def load_entries(config: Config, info: DistInfo, progress: bool) -> list[CacheEntry]:
    """The cache entries of `train.data`: prepared caches are read; other inputs are prepared
    into `train.cache` first (by rank 0, the others wait)."""
    data = list(config.train.data)
    if not data:
        raise ConfigError("train.data is empty: set it to clips, image folders or a prepared "
                          "cache (--set train.data=[...])")
    caches = [d for d in data if is_cache(Path(d))]
    raw = [d for d in data if d not in caches]
    if raw and info.is_main:
        prepare(raw, config, out_dir=config.train.cache, progress=progress)
    barrier(info)
    entries = [e for c in caches for e in read_cache(Path(c))]
    if raw:
        entries += read_cache(Path(config.train.cache))

    return assign_identities(entries, config.train.identities)


def resolve_amp(mode: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype: bf16 / fp16 on CUDA ("auto" = bf16 where supported), None on CPU."""
    if mode not in AMP_MODES:
        raise ConfigError(f"train.amp: '{mode}' is not one of {', '.join(AMP_MODES)}")
    if device.type != "cuda" or mode == "off":
        return None
    if mode == "fp16" or (mode == "auto" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


class Trainer:
    """Base class: subclasses set `task`, implement the hooks below, and call nothing else."""

    task = ""

    def __init__(self, config: Config, *, info: DistInfo | None = None) -> None:
        self.config, self.opts = config, config.train
        self.info = info or init_distributed(self.opts.device)
        self.device = self.info.device
        self.out_dir = Path(self.opts.out_dir)
        self.progress = self.opts.progress and self.info.is_main
        if self.opts.batch_size % self.info.world:
            raise ConfigError(f"train.batch_size={self.opts.batch_size} must be divisible by the "
                              f"{self.info.world} processes")
        torch.manual_seed(self.opts.seed)
        np.random.seed(self.opts.seed % 2**32)
        self.amp_dtype = resolve_amp(self.opts.amp, self.device)
        self.channels_last = self.opts.channels_last and self.device.type == "cuda"
        self.scalers: dict[str, Any] = {}
        self.logger = RunLogger(self.out_dir, enabled=self.info.is_main)
        entries = load_entries(config, self.info, self.progress)
        self.split = split_by_identity(entries, self.opts.val_holdout, self.opts.val_fraction)
        self.setup(self.split)
        if self.amp_dtype == torch.float16:
            self.scalers = {name: torch.amp.GradScaler("cuda") for name in self.optimizers()}

    # ----- hooks ---------------------------------------------------------------------------------

    def setup(self, split: Split) -> None:
        """Build data, networks (on self.device) and optimizers."""
        raise NotImplementedError

    def networks(self) -> dict[str, torch.nn.Module]:
        """The unwrapped networks to checkpoint, by file name."""
        raise NotImplementedError

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def dataset(self) -> Dataset:
        raise NotImplementedError

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One optimisation step on this rank's share of the batch; returns the losses."""
        raise NotImplementedError

    def validate(self) -> dict[str, Any] | None:
        """Validation on the held-out identities (rank 0), or None when there are none."""
        return None

    def sample_grid(self, batch: dict[str, torch.Tensor]) -> np.ndarray | None:
        return None

    def final_network(self) -> torch.nn.Module:
        """The network saved as `<task>.safetensors`."""
        raise NotImplementedError

    # ----- helpers for subclasses ----------------------------------------------------------------

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    def backward(self, loss: torch.Tensor, name: str) -> None:
        """loss.backward() and optimizer `name`'s step (through its GradScaler under fp16)."""
        optimizer = self.optimizers()[name]
        scaler = self.scalers.get(name)
        if scaler is None:
            loss.backward()
            optimizer.step()
            return
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for key, value in batch.items():
            value = value.to(self.device, non_blocking=True)
            if self.channels_last and value.ndim == 4:
                value = value.contiguous(memory_format=torch.channels_last)
            out[key] = value
        return out

    def prepare_module(self, module: torch.nn.Module) -> torch.nn.Module:
        module = module.to(self.device)
        return module.to(memory_format=torch.channels_last) if self.channels_last else module

    # ----- the loop ------------------------------------------------------------------------------

    def _resume(self) -> int:
        folder = checkpoints.resolve_resume(self.opts.resume, self.out_dir)
        if folder is None:
            return 0
        state = checkpoints.load_checkpoint(folder, task=self.task, networks=self.networks(),
                                            optimizers=self.optimizers())
        for name, scaler_state in state.get("scalers", {}).items():
            if name in self.scalers:
                self.scalers[name].load_state_dict(scaler_state)
        log.info("resumed %s from %s at step %d", self.task, folder, state["step"])
        return int(state["step"])

    def save_checkpoint(self, step: int) -> Path | None:
        if not self.info.is_main:
            return None
        return checkpoints.save_checkpoint(
            self.out_dir, step, task=self.task, config=self.config, networks=self.networks(),
            optimizers=self.optimizers(),
            scalers={k: v.state_dict() for k, v in self.scalers.items()},
        )

    def _loader(self, start: int) -> DataLoader:
        dataset = self.dataset()
        sampler = StepBatchSampler(
            num_samples=len(dataset), global_batch=self.opts.batch_size, rank=self.info.rank,
            world=self.info.world, seed=self.opts.seed, start_step=start, end_step=self.opts.steps,
        )
        return DataLoader(dataset, batch_sampler=sampler, num_workers=self.opts.num_workers,
                          pin_memory=self.device.type == "cuda",
                          persistent_workers=self.opts.num_workers > 0)

    def _every(self, done: int, every: int) -> bool:
        return every > 0 and done % every == 0 and done < self.opts.steps

    best_key: str | None = None  # a validation key, higher is better: keep its best weights

    def _run_validation(self, done: int) -> dict[str, Any] | None:
        record = None
        if self.info.is_main:
            record = self.validate()
            if record is not None:
                self.logger.validation(done, record)
                self._keep_best(done, record)
        barrier(self.info)
        return record

    def _keep_best(self, done: int, record: dict[str, Any]) -> None:
        """Save `<task>_best.safetensors` when record[best_key] beats every earlier validation of
        this run (its value and step are in the weights' meta, so a resumed run keeps the bar)."""
        if self.best_key is None or not isinstance(record.get(self.best_key), (int, float)):
            return
        path = self.out_dir / f"{self.task}_best.safetensors"
        score = float(record[self.best_key])
        if not hasattr(self, "_best_score"):  # the bar, read once: a resumed run's kept weights
            previous = (load_weights(path)[1].get(f"best_{self.best_key}")
                        if path.is_file() else None)
            self._best_score = float(previous) if previous is not None else None
        if self._best_score is not None and self._best_score >= score:
            return
        self._best_score = float(f"{score:.6f}")  # as stored in the meta
        net = self.final_network()
        save_weights(path, net.state_dict(), {**net.arch_meta(), "steps": done, "task": self.task,
                                              f"best_{self.best_key}": f"{score:.6f}"})
        log.info("best %s so far (%s %.4f at step %d): %s", self.task, self.best_key, score, done,
                 path)

    def run(self) -> TrainResult:
        """Train from step 0 (or the resumed step) to train.steps; see the module docstring."""
        from tqdm import tqdm

        start = self._resume()
        self.logger.write_config(self.config)
        result = TrainResult(steps=start, weights=None, out_dir=self.out_dir,
                             parameters=self.parameter_counts())
        window: list[dict[str, float]] = []
        busy = total_busy = 0.0  # seconds spent loading data and stepping (not logging)
        batch = None
        bar = tqdm(total=self.opts.steps, initial=start, desc=f"train {self.task}", unit="step",
                   disable=not self.progress)
        batches = iter(self._loader(start))
        deadline = time.perf_counter() + 60.0 * self.opts.max_minutes
        try:
            for step in range(start, self.opts.steps):
                t0 = time.perf_counter()
                if self.opts.max_minutes and step > start and t0 > deadline:
                    log.info("train.max_minutes (%g) reached at step %d", self.opts.max_minutes,
                             step)
                    break
                torch.manual_seed(self.opts.seed * 1_000_003 + step)
                batch = self.to_device(next(batches))
                losses = self.train_step(batch)
                busy += time.perf_counter() - t0
                result.steps = done = step + 1
                result.history.append(losses)
                window.append(losses)
                bar.update(1)
                if self.opts.log_every > 0 and done % self.opts.log_every == 0:
                    means = mean_over_ranks(_mean(window), self.info)
                    means["images_per_s"] = len(window) * self.opts.batch_size / max(busy, 1e-9)
                    self.logger.scalars(done, means)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()})
                    total_busy, window, busy = total_busy + busy, [], 0.0
                self._periodic(done, batch, result)
        except KeyboardInterrupt:
            if not self.info.distributed and result.steps > start:
                self.save_checkpoint(result.steps)
            raise
        finally:
            bar.close()
        total_busy += busy
        trained = (result.steps - start) * self.opts.batch_size
        result.images_per_s = trained / total_busy if total_busy > 0 else 0.0
        return self._finish(result, batch)

    def _periodic(self, done: int, batch: dict[str, torch.Tensor], result: TrainResult) -> None:
        """Image grids, validation and checkpoints at their intervals (not at the last step:
        `_finish` does those)."""
        if self.info.is_main and self._every(done, self.opts.image_every):
            grid = self.sample_grid(batch)
            if grid is not None:
                self.logger.image(done, grid)
        if self._every(done, self.opts.val_every):
            result.validation = self._run_validation(done) or result.validation
        if self._every(done, self.opts.ckpt_every):
            self.save_checkpoint(done)

    def _finish(self, result: TrainResult, batch: dict[str, torch.Tensor] | None) -> TrainResult:
        done = result.steps
        self.save_checkpoint(done)
        if batch is not None and self.info.is_main:
            grid = self.sample_grid(batch)
            if grid is not None:
                self.logger.image(done, grid)
        result.validation = self._run_validation(done) or result.validation
        if self.info.is_main:
            net = self.final_network()
            path = self.out_dir / f"{self.task}.safetensors"
            meta = {**net.arch_meta(), "steps": done, "task": self.task,
                    "data": ",".join(sorted({e.identity for e in self.split.train}))[:2000]}
            result.weights = save_weights(path, net.state_dict(), meta)
        self.logger.close()
        barrier(self.info)
        return result

    def parameter_counts(self) -> dict[str, int]:
        return {name: num_parameters(net) for name, net in self.networks().items()}


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for row in rows for k in row}
    return {k: float(np.mean([row[k] for row in rows if k in row])) for k in sorted(keys)}
