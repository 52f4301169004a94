"""Who the landmark-only fusion jobs train on and hold out: `configs/splits/fusion.yaml`.

Split lists belong to a job's data, not its code: the fits (`fusion_code`, `neutral_basis`), the
scores (`fusion_validate`) and the timing tool (`lab/fusion_bench.py`) read them from one
YAML file, and each takes `--splits FILE` for another.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reenact.config.load import CONFIG_DIR
from reenact.config.reader import read_config_file
from reenact.errors import ConfigError

SPLITS_FILE = CONFIG_DIR / "splits" / "fusion.yaml"
_LISTS = ("validation", "validation_clips", "test", "self_clips", "held_out")


@dataclass(frozen=True)
class FusionSplits:
    """stills_prefix: the person-name prefix of a labelled-stills subject; stills_entry: the
    landmark cache entry of the labelled stills; identity_groups: person -> their clips; the
    lists: people (or clips) by role; bench_clip, bench_target: file names in the media's clips
    folder."""

    stills_prefix: str
    stills_entry: str
    identity_groups: dict[str, tuple[str, ...]]
    validation: tuple[str, ...]
    validation_clips: tuple[str, ...]
    test: tuple[str, ...]
    self_clips: tuple[str, ...]
    held_out: tuple[str, ...]
    bench_clip: str
    bench_target: str

    def identity_of(self, stem: str) -> str:
        """A clip's person: its group in identity_groups, else the clip itself."""
        for person, stems in self.identity_groups.items():
            if stem in stems:
                return person
        return stem


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of names, got {value!r}")
    return tuple(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a name, got {value!r}")
    return value


@functools.cache
def read_splits(path: Path = SPLITS_FILE) -> FusionSplits:
    """The splits file at `path`; ConfigError (one line naming the file and key) when a key is
    missing or of the wrong type."""
    data = read_config_file(Path(path))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of split names")
    known = {"stills_prefix", "stills_entry", "identity_groups", "bench", *_LISTS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    missing = sorted(known - set(data))
    if missing:
        raise ConfigError(f"{path}: {missing[0]} is missing")
    groups = data["identity_groups"]
    if not isinstance(groups, dict):
        raise ConfigError(f"{path}: identity_groups: expected person: [clips]")
    bench = data["bench"]
    if not isinstance(bench, dict):
        raise ConfigError(f"{path}: bench: expected clip: and target:")
    lists = {key: _names(data[key], f"{path}: {key}") for key in _LISTS}
    return FusionSplits(
        stills_prefix=_text(data["stills_prefix"], f"{path}: stills_prefix"),
        stills_entry=_text(data["stills_entry"], f"{path}: stills_entry"),
        identity_groups={
            str(k): _names(v, f"{path}: identity_groups.{k}") for k, v in groups.items()
        },
        **lists,
        bench_clip=_text(bench.get("clip"), f"{path}: bench.clip"),
        bench_target=_text(bench.get("target"), f"{path}: bench.target"),
    )
