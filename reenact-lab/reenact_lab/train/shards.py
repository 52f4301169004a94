"""Weights in shards: bring a model back from a lent GPU machine, 8 files of at most 16 MiB.

`split_weights(path, out_dir, max_mib)` writes `<stem>.shard-<i>-of-<n>.safetensors`, each a
valid safetensors file (`reenact.engine.weights`) with the original metadata plus `shard`
("i/n"), stored as `dtype` (fp16 by default: half the size); whole tensors only, greedily packed.
`join_weights(shards, output)` checks that every shard of one set is there and writes the whole.

    python -m reenact_lab.train.shards split runs/gpu/generator.safetensors $OUT --max-mib 15
    python -m reenact_lab.train.shards join out/shards/generator.shard-*.safetensors \
        --out reenact/models/generator_256_gpu.safetensors
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from reenact.engine.weights import load_weights, save_weights
from reenact.errors import ReenactError, WeightsError

_RESERVED = ("format", "storage_dtype", "shard")


def split_weights(
    path: str | Path,
    out_dir: str | Path,
    *,
    max_mib: float = 15.0,
    dtype: torch.dtype | None = torch.float16,
) -> list[Path]:
    """Shards of the weights at `path` in `out_dir`; returns their paths in order."""
    tensors, meta = load_weights(path)
    meta = {k: v for k, v in meta.items() if k not in _RESERVED}
    budget = int(max_mib * 2**20) - 65536  # room for the header
    groups: list[list[str]] = [[]]
    used = 0
    for key, value in tensors.items():
        item = 2 if (dtype is not None and value.is_floating_point()) else value.element_size()
        size = value.numel() * item
        if size > budget:
            raise WeightsError(
                f"{path}: tensor {key} ({size / 2**20:.1f} MiB) is larger than a "
                f"{max_mib} MiB shard"
            )
        if used + size > budget and groups[-1]:
            groups.append([])
            used = 0
        groups[-1].append(key)
        used += size
    out, stem, n = Path(out_dir), Path(path).name.removesuffix(".safetensors"), len(groups)
    return [
        save_weights(
            out / f"{stem}.shard-{i + 1}-of-{n}.safetensors",
            {k: tensors[k] for k in keys},
            {**meta, "shard": f"{i + 1}/{n}"},
            dtype=dtype,
        )
        for i, keys in enumerate(groups)
    ]


def join_weights(
    shards: list[str | Path], output: str | Path, *, dtype: torch.dtype | None = torch.float16
) -> Path:
    """The whole weights from all shards of one set (WeightsError naming what is missing)."""
    parts = [load_weights(p) for p in shards]
    counts = {m.get("shard", "?").split("/")[-1] for _, m in parts}
    seen = sorted(int(m.get("shard", "0/0").split("/")[0]) for _, m in parts)
    if len(counts) != 1 or seen != list(range(1, int(counts.pop() or 0) + 1)):
        raise WeightsError(
            f"{output}: shards {seen} of {sorted(counts) or '?'} given; pass every shard of one set"
        )
    tensors = {k: v for t, _ in parts for k, v in t.items()}
    meta = {k: v for k, v in parts[0][1].items() if k not in _RESERVED}
    return save_weights(output, tensors, meta, dtype=dtype)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reenact_lab.train.shards",
        description="split safetensors weights into fp16 shards, or join them back",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    split = sub.add_parser("split")
    split.add_argument("weights")
    split.add_argument("out_dir")
    split.add_argument("--max-mib", type=float, default=15.0)
    join = sub.add_parser("join")
    join.add_argument("shards", nargs="+")
    join.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "split":
            for path in split_weights(args.weights, args.out_dir, max_mib=args.max_mib):
                print(path)
        else:
            print(join_weights(args.shards, args.out))
    except ReenactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
