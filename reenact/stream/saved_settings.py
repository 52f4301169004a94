"""The user config `<config dir>/reenact.yaml`: settings of the user's own, and the panel's.

The file is a preset as any other (sections and keys as in configs/*.yaml) that the user may
edit. `reenact live` and `reenact run` read it between the command's own default preset and the
command line: each of its values is applied unless the command line gives that key itself (a
`--set`, a flag such as `--intensity`, a preset named with `-c`), and a command line that picks
another source or sink kind drops the file's options for that section.

A live setting changed through `POST /settings` (the panel's sliders, a script) is merged into
the file at once: the user's other keys, comments and order stay (`reenact.config.yaml_edit`).
A `panel.yaml` kept by an earlier version is merged in once and renamed `panel.yaml.old`: one
file to read and edit, not two whose order the user cannot see.

The file is read by the same bounded, alias-free reader as every config file; a key this
version does not have is skipped with a warning (a file kept across upgrades must not stop a
start), a bad value is one ConfigError naming the file.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import typing
from pathlib import Path
from typing import Any

from reenact.config import load_config
from reenact.config.reader import read_config_file
from reenact.config.renamed import RENAMED, renamed
from reenact.config.schema import Config
from reenact.config.yaml_edit import update_yaml_file
from reenact.errors import ConfigError
from reenact.paths import config_dir, user_config_file

log = logging.getLogger(__name__)
OLD_PANEL_FILE = "panel.yaml"  # where an earlier version kept the panel's settings
NOT_KEPT = frozenset({"paused"})  # the state of one run, not a setting
PLUGIN_SECTIONS = ("source", "sink")  # their options belong to the plugin `kind` names
HEADER = (
    "# reenact's user config (`reenact paths`): read by `reenact live` and `reenact run`;\n"
    "# the command line wins over it. Sections and keys as in configs/*.yaml; the panel\n"
    "# keeps the settings changed on it here.\n"
)
_lock = threading.Lock()  # one writer at a time in this process: each write merges the last


def settings_path() -> Path:
    return user_config_file()


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
    for dotted, value in flat.items():
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
    """Merge checked live settings ({key: value}) into the user config; a folder that cannot be
    written costs a warning, never the request."""
    kept = {k: v for k, v in values.items() if k not in NOT_KEPT and _is_config_key(k)}
    if not kept:
        return
    path = settings_path()
    with _lock:
        try:
            update_yaml_file(path, kept, header=HEADER)
        except (OSError, ConfigError) as exc:
            log.warning(
                "panel settings: cannot keep them in %s (%s)",
                path,
                getattr(exc, "strerror", None) or exc,
            )


def migrate_panel_file() -> str | None:
    """An earlier version's `panel.yaml` merged into the user config (its keys only where the
    user config has none), then renamed `panel.yaml.old`; the line that says so, or None."""
    old = config_dir() / OLD_PANEL_FILE
    if not old.is_file():
        return None
    path = settings_path()
    with _lock:
        try:
            data = read_config_file(old) or {}
        except ConfigError as exc:
            return f"{exc}; not merged into {path}"
        current = {RENAMED.get(k, k) for k in flatten(_raw(path))}
        given = flatten(data if isinstance(data, dict) else {}).items()
        moved = {renamed(k, f"{old}: "): v for k, v in given}
        kept = {
            k: v
            for k, v in moved.items()
            if k not in current and k not in NOT_KEPT and _is_config_key(k)
        }
        if kept:
            update_yaml_file(path, kept, header=HEADER)
        old.replace(old.with_name(OLD_PANEL_FILE + ".old"))
    return f"the panel's kept settings moved from {old} into {path}"


def _raw(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = read_config_file(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of sections; fix it, or delete the file to start afresh"
        )
    return data


def _read(path: Path) -> dict[str, Any]:
    """{key: value} as kept: live settings checked against their table, every value against the
    config; a key this version does not have is skipped with a warning."""
    from reenact.stream.live_settings import BY_KEY

    kept = {}
    flat = flatten(_raw(path))
    for given, value in flat.items():
        key = renamed(given, f"{path}: ")
        if key != given and key in flat:
            continue  # the file gives the new key too: it wins over the old one
        plugin_option = key.partition(".")[0] in PLUGIN_SECTIONS
        if key in NOT_KEPT or not (plugin_option or _is_config_key(key)):
            log.warning(
                "%s: '%s' is no config key of this version (a typo, or an older "
                "version's); skipped",
                path,
                key,
            )
            continue
        try:
            kept[key] = BY_KEY[key].parse(value) if key in BY_KEY else value
        except ValueError as exc:
            raise ConfigError(
                f"{path}: {exc} (fix it, or delete the file to start afresh)"
            ) from None
    try:
        load_config(None, base=_nest(kept))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc} (fix it, or delete the file to start afresh)") from None
    return kept


def saved_for_run(explicit: set[str]) -> tuple[dict[str, Any], list[str]]:
    """(user config values to apply, its keys the command line overrides): the file's values,
    less those `explicit` names, and less a source's or sink's options when `explicit` names
    another kind for it."""
    saved = _read(settings_path())
    replaced = {s for s in PLUGIN_SECTIONS if f"{s}.kind" in explicit}
    apply = {
        k: v for k, v in saved.items() if k not in explicit and k.partition(".")[0] not in replaced
    }
    return apply, sorted(set(saved) - set(apply))


def applied_line(applied: dict[str, Any], overridden: list[str]) -> str:
    """The one line that says which of the user config's settings this run uses."""
    values = ", ".join(f"{k}={_show(v)}" for k, v in applied.items())
    line = f"settings from {settings_path()}: {values or 'none'}"
    if overridden:
        line += f"; the command line's own value for {', '.join(overridden)}"
    return line


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
