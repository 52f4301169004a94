"""Training checkpoints without pickle: safetensors for every tensor, JSON for the rest.

    <out_dir>/checkpoints/step_00000500/
        state.json                  task, step, resolved config, networks' arch meta, scalers
        <network>.safetensors       weights + arch meta (reenact.engine.weights), e.g. generator
        optim_<name>.safetensors    Adam state tensors; param groups as JSON in the metadata

A checkpoint folder is written under a temporary name and renamed when complete; the newest
`KEEP` are kept. Loading checks the task and every network's architecture (WeightsError naming
the file), and never unpickles anything.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from reenact.config import Config, config_to_dict
from reenact.engine.weights import load_into, load_weights, save_weights
from reenact.errors import WeightsError

FORMAT = "reenact.checkpoint/1"
STATE_NAME = "state.json"
KEEP = 3
_PREFIX = "step_"


def step_dir(out_dir: Path, step: int) -> Path:
    return Path(out_dir) / "checkpoints" / f"{_PREFIX}{step:08d}"


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """An optimizer's state as (flat tensors "state.<param>.<key>", JSON-able rest)."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{key}"] = value
            else:
                scalars[f"state.{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def load_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    """Restore `optimizer` from `path`; WeightsError if its parameters do not match."""
    tensors, meta = load_weights(path)
    try:
        rest = json.loads(meta["optimizer"])
    except (KeyError, json.JSONDecodeError):
        raise WeightsError(
            f"{path}: not an optimizer state file; resume from a checkpoint folder"
        ) from None
    groups = rest["param_groups"]
    own = optimizer.state_dict()["param_groups"]
    if [len(g["params"]) for g in groups] != [len(g["params"]) for g in own]:
        raise WeightsError(
            f"{path}: optimizer state for another architecture "
            f"({sum(len(g['params']) for g in groups)} tensors, expected "
            f"{sum(len(g['params']) for g in own)}); resume with matching settings"
        )
    state: dict[int, dict[str, Any]] = {}
    for name, value in [*tensors.items(), *rest["scalars"].items()]:
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    params = [p for g in optimizer.param_groups for p in g["params"]]
    for index, values in state.items():
        avg = values.get("exp_avg")
        if avg is not None and avg.shape != params[index].shape:
            raise WeightsError(
                f"{path}: optimizer state shape {tuple(avg.shape)} does not fit "
                f"parameter {index} {tuple(params[index].shape)}"
            )
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _config_dict(config: Any) -> Any:
    if isinstance(config, Config):  # as a preset has it: the lab's `train` at the top level
        return config_to_dict(config)
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config


def save_checkpoint(
    out_dir: Path,
    step: int,
    *,
    task: str,
    config: Any,
    networks: Mapping[str, torch.nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    scalers: Mapping[str, dict] | None = None,
) -> Path:
    """Write a complete checkpoint for `step` (rank 0 only); returns its folder."""
    final = step_dir(out_dir, step)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        metas = {}
        for name, net in networks.items():
            meta = {**net.arch_meta(), "step": step, "task": task}
            save_weights(tmp / f"{name}.safetensors", net.state_dict(), meta)
            metas[name] = net.arch_meta()
        for name, optimizer in optimizers.items():
            tensors, rest = optimizer_tensors(optimizer)
            save_weights(
                tmp / f"optim_{name}.safetensors",
                tensors,
                {"optimizer": json.dumps(rest), "step": step},
            )
        state = {
            "format": FORMAT,
            "task": task,
            "step": step,
            "networks": metas,
            "scalers": dict(scalers or {}),
            "config": _config_dict(config),
        }
        (tmp / STATE_NAME).write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _prune(final.parent)
    return final


def _prune(folder: Path) -> None:
    steps = sorted(p for p in folder.glob(f"{_PREFIX}*") if p.is_dir())
    for old in steps[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The newest complete checkpoint folder under `out_dir`, or None."""
    folder = Path(out_dir) / "checkpoints"
    steps = sorted(p for p in folder.glob(f"{_PREFIX}*") if (p / STATE_NAME).is_file())
    return steps[-1] if steps else None


def resolve_resume(resume: str, out_dir: Path) -> Path | None:
    """train.resume -> a checkpoint folder: "" = none, "latest" = newest in out_dir, else a path
    (a folder, or its state.json)."""
    if not resume:
        return None
    if resume == "latest":
        found = latest_checkpoint(out_dir)
        if found is None:
            raise WeightsError(
                f"{Path(out_dir) / 'checkpoints'}: no checkpoint to resume from; "
                "start without train.resume"
            )
        return found
    path = Path(resume)
    return path.parent if path.name == STATE_NAME else path


def read_state(folder: Path, task: str) -> dict[str, Any]:
    """The checkpoint's state.json, checked to be a `task` checkpoint."""
    path = Path(folder) / STATE_NAME
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"{path}: missing; train.resume must name a checkpoint folder") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(
            f"{path}: unreadable checkpoint state ({exc}); pick another checkpoint"
        ) from None
    if state.get("format") != FORMAT or not isinstance(state.get("step"), int):
        raise WeightsError(
            f"{path}: not a reenact checkpoint (format {state.get('format')!r}); "
            "train.resume must name a checkpoint folder"
        )
    if state.get("task") != task:
        raise WeightsError(
            f"{path}: a '{state.get('task')}' checkpoint, expected '{task}'; "
            f"resume {task} training from a {task} checkpoint"
        )
    return state


def load_checkpoint(
    folder: Path,
    *,
    task: str,
    networks: Mapping[str, torch.nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
) -> dict[str, Any]:
    """Load networks and optimizers in place; returns the state (step, scalers, config)."""
    state = read_state(folder, task)
    for name, net in networks.items():
        load_into(net, Path(folder) / f"{name}.safetensors")
    for name, optimizer in optimizers.items():
        load_optimizer(optimizer, Path(folder) / f"optim_{name}.safetensors")
    return state
