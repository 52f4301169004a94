"""The panel's settings kept from one run to the next: `<config dir>/panel.yaml`.

A live setting changed through `POST /settings` (the panel's sliders, a script) is merged into
the file at once, nested as a preset is (so the file also works with `-c`). At the next start
(`reenact live`) each kept value is applied unless the command line gives that key itself: a
`--set`, a flag such as `--intensity`, or a preset named with `-c` wins over a kept value. The
command's own default preset (configs/live.yaml) does not: it is no choice of the user's.
The file is read by the same bounded, alias-free reader as every config file.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import typing
from pathlib import Path
from typing import Any

import yaml

from reenact.atomic import write_atomic
from reenact.config.reader import read_config_file
from reenact.config.schema import Config
from reenact.errors import ConfigError
from reenact.paths import config_dir

log = logging.getLogger(__name__)
SETTINGS_FILE = "panel.yaml"
NOT_KEPT = frozenset({"paused"})  # the state of one run, not a setting
_lock = threading.Lock()  # one writer at a time in this process: each write merges the last


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'stream': {'intensity': 0.8}} -> {'stream.intensity': 0.8}."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for dotted, value in sorted(flat.items()):
        *sections, name = dotted.split(".")
        node = nested
        for section in sections:
            node = node.setdefault(section, {})
        node[name] = value
    return nested


def _is_config_key(dotted: str) -> bool:
    """Whether `dotted` names a field of `Config` (a live setting may have no config key)."""
    node: Any = Config
    for part in dotted.split("."):
        if not dataclasses.is_dataclass(node):
            return False
        fields = typing.get_type_hints(node)
        if part not in {f.name for f in dataclasses.fields(node)}:
            return False
        node = fields[part]
    return not dataclasses.is_dataclass(node)


def save_settings(values: dict[str, Any]) -> None:
    """Merge checked live settings ({key: value}) into the file, written whole; a folder that
    cannot be written costs a warning, never the request."""
    kept = {k: v for k, v in values.items() if k not in NOT_KEPT and _is_config_key(k)}
    if not kept:
        return
    path = settings_path()
    with _lock:
        try:
            saved = _read(path)
        except ConfigError:  # a damaged file is replaced by what the user just chose
            saved = {}
        saved.update(kept)
        try:
            write_atomic(path, yaml.safe_dump(_nest(saved), sort_keys=True))
        except OSError as exc:
            log.warning("panel settings: cannot keep them in %s (%s)", path,
                        exc.strerror or exc)


def _read(path: Path) -> dict[str, Any]:
    """{key: value} as kept: checked against the live settings table; a key this version does
    not have is skipped with a warning, a bad value is a ConfigError naming the file."""
    from reenact.stream.live_settings import BY_KEY

    if not path.exists():
        return {}
    data = read_config_file(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections; fix it, or delete the file "
                          "to start afresh")
    kept = {}
    for key, value in flatten(data).items():
        if key not in BY_KEY or key in NOT_KEPT or not _is_config_key(key):
            log.warning("%s: '%s' is not a live setting of this version; skipped", path, key)
            continue
        try:
            kept[key] = BY_KEY[key].parse(value)
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc} (fix it, or delete the file to start afresh)") \
                from None
    return kept


def saved_for_run(explicit: set[str]) -> tuple[dict[str, Any], list[str]]:
    """(kept values to apply, kept keys the command line overrides): the kept settings, less
    those `explicit` names."""
    saved = _read(settings_path())
    apply = {k: v for k, v in saved.items() if k not in explicit}
    return apply, sorted(set(saved) - set(apply))


def applied_line(applied: dict[str, Any], overridden: list[str]) -> str:
    """The one line that says which kept settings this run uses."""
    values = ", ".join(f"{k}={_show(v)}" for k, v in applied.items())
    line = f"reenact: panel settings kept from the last run ({settings_path()}): {values}"
    if overridden:
        line += f"; the command line's own value for {', '.join(overridden)}"
    return line


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
