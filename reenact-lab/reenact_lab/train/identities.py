"""Who is who in the training data: identity groups across clips, and the data summary.

An entry's identity is its clip stem (or `<folder>_<subject>` for stills) unless
`train.identities` names a group: one string per person, `"NAME: entry entry ..."`, e.g.
`"alex: interview_1 interview_2 speech"`. Grouped entries share
the identity NAME, so that the validation split keeps a person out as a whole (holding out one
of their clips holds out all of them) and cross-clip pairs of one person can be drawn.

`data_summary` says which identities and how many frames train and validation use; `prepare`
prints it and writes it as `summary.json` beside the cache's `index.json`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any

from reenact.atomic import write_atomic
from reenact.errors import ConfigError
from reenact_lab.train.cache import CacheEntry

SUMMARY_NAME = "summary.json"


def parse_groups(groups: Sequence[str]) -> dict[str, str]:
    """`train.identities` strings -> {entry name: identity}. ConfigError naming a bad one."""
    mapping: dict[str, str] = {}
    for text in groups:
        name, sep, members = text.partition(":")
        entries = members.replace(",", " ").split()
        if not sep or not name.strip() or not entries:
            raise ConfigError(f"train.identities: '{text}' is not 'NAME: entry entry ...'")
        for entry in entries:
            if entry in mapping and mapping[entry] != name.strip():
                raise ConfigError(
                    f"train.identities: {entry} is in two groups ({mapping[entry]}, {name.strip()})"
                )
            mapping[entry] = name.strip()
    return mapping


def assign_identities(entries: list[CacheEntry], groups: Sequence[str]) -> list[CacheEntry]:
    """The entries with the grouped identities of `train.identities` applied (copies; an entry
    not named keeps its own). A named entry that is not in the data is ignored (a group may
    list clips that one cache lacks)."""
    mapping = parse_groups(groups)
    return [dc_replace(e, identity=mapping[e.name]) if e.name in mapping else e for e in entries]


def _identity_rows(entries: list[CacheEntry]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for e in sorted(entries, key=lambda e: (e.identity, e.name)):
        row = rows.setdefault(e.identity, {"entries": [], "frames": 0, "faces": 0})
        row["entries"].append(e.name)
        row["frames"] += e.num_frames
        row["faces"] += int(e.valid.sum())
    return rows


def data_summary(train: list[CacheEntry], val: list[CacheEntry]) -> dict[str, Any]:
    """Identities and frames (with a face) of the training and held-out sides, and the
    identities that have two or more clips (the cross-clip pairs)."""
    train_rows, val_rows = _identity_rows(train), _identity_rows(val)
    return {
        "train": {
            "identities": len(train_rows),
            "entries": len(train),
            "faces": sum(r["faces"] for r in train_rows.values()),
            "frames": sum(r["frames"] for r in train_rows.values()),
            "by_identity": train_rows,
        },
        "held_out": {
            "identities": len(val_rows),
            "entries": len(val),
            "faces": sum(r["faces"] for r in val_rows.values()),
            "by_identity": val_rows,
        },
        "multi_clip_identities": sorted(i for i, r in train_rows.items() if len(r["entries"]) >= 2),
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A few human lines of `data_summary`."""
    t, v = summary["train"], summary["held_out"]
    lines = [
        f"train: {t['identities']} identities, {t['entries']} entries, {t['faces']} of "
        f"{t['frames']} frames with a face",
        f"held out: {v['identities']} identities ({', '.join(sorted(v['by_identity']))}), "
        f"{v['faces']} frames with a face",
    ]
    multi = summary["multi_clip_identities"]
    if multi:
        lines.append(
            "cross-clip pairs: "
            + ", ".join(f"{i} ({len(t['by_identity'][i]['entries'])} entries)" for i in multi)
        )
    return lines


def write_summary(folder: Path, summary: dict[str, Any]) -> Path:
    """`summary.json` in the cache folder (atomically)."""
    path = Path(folder) / SUMMARY_NAME
    write_atomic(path, (json.dumps(summary, indent=1) + "\n").encode())
    return path
