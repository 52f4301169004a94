"""Load, override, validate and dump the configuration.

A preset is YAML with the same nesting as `Config`; `--set section.key=value` overrides are YAML
scalars. An unknown key, a value of the wrong type, or a number outside its declared range
(`reenact.config.ranges`) is a `ConfigError` naming the key and the file.
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from pathlib import Path
from typing import Any

import yaml

from reenact.atomic import write_atomic
from reenact.config.plugins import typed_options
from reenact.config.reader import read_config_file
from reenact.config.renamed import renamed
from reenact.config.schema import Config, SinkConfig, SourceConfig
from reenact.config.sections import build_added, ignored
from reenact.config.typed import Raw, build_section, field_choices, field_types
from reenact.errors import ConfigError

__all__ = [
    "CONFIG_DIR",
    "config_to_dict",
    "dump_config",
    "field_choices",
    "load_config",
    "parse_override",
    "read_yaml",
    "replace",
    "resolve_preset",
    "with_plugin_options",
]

# the checkout's configs/, or (installed from a wheel) the copy inside the package
CONFIG_DIR = next(
    (
        d
        for d in (
            Path(__file__).resolve().parents[2] / "configs",
            Path(__file__).resolve().parents[1] / "configs",
        )
        if d.is_dir()
    ),
    Path(__file__).resolve().parents[2] / "configs",
)
REDACTED = "<redacted>"
log = logging.getLogger(__name__)


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {dotted}: '{part}' is not a section")
        node = child
    node[parts[-1]] = value


def _forget_preset_plugin_options(
    data: dict[str, Any], dotted: str, value: Any, preset_keys: set[str]
) -> None:
    """A flag or `--set` that switches `source.kind` or `sink.kind` to another plugin drops the
    options the preset file gave the previous one: `reenact live --source video:clip.mp4`
    must not resize the clip to configs/live.yaml's webcam 1280x720 (a portrait clip came out
    squashed, its face lost in half the frames). The command's own options (live: a file in
    place of the camera loops, paced) and options given on the command line are kept."""
    section, _, key = dotted.partition(".")
    node = data.get(section)
    if key != "kind" or section not in ("source", "sink") or not isinstance(node, dict):
        return
    if str(node.get("kind", value)) == str(value):
        return
    own = {f.name for f in dataclasses.fields(SourceConfig if section == "source" else SinkConfig)}
    for name in [k for k in node if k not in own and f"{section}.{k}" in preset_keys]:
        del node[name]


def parse_override(text: str) -> tuple[str, Any]:
    """'renderer.size=512' -> ('renderer.size', '512'), typed later by the field it sets."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected section.key=value")
    return key.strip(), Raw(raw)


def resolve_preset(name_or_path: str) -> Path:
    """A path to a YAML file, or the name of a preset in `configs/` ('live' -> configs/live.yaml)."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return CONFIG_DIR / f"{name_or_path}.yaml"


def read_yaml(path: Path) -> dict[str, Any]:
    """A preset file's sections, through the bounded, alias-free reader (`reenact.config.reader`)."""
    data = read_config_file(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return data


def _check_sections(data: dict[str, Any], where: str) -> None:
    """Top-level keys checked before any section is walked."""
    sections = field_types(Config)
    try:
        build_added({key: {} for key in data}, sections)
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from None


def load_config(
    path: str | Path | None = None,
    overrides: typing.Iterable[str] = (),
    *,
    base: dict[str, Any] | None = None,
    flags: dict[str, Any] | None = None,
) -> Config:
    """Defaults < `base` (nested) < the preset file < `flags` ({'sink.kind': 'null'}) <
    `--set` overrides; every layer validated, errors naming where the bad value came from."""
    data: dict[str, Any] = {}
    for dotted, value in _flatten(base or {}):
        _set_path(data, renamed(dotted), value)
    preset_keys: set[str] = set()
    origin = ""
    if path:
        preset = resolve_preset(str(path))
        origin = f"{preset}: "
        preset_data = read_yaml(preset)
        _check_sections(preset_data, origin)
        for dotted, value in _flatten(preset_data):
            dotted = renamed(dotted, origin)
            _set_path(data, dotted, value)
            preset_keys.add(dotted)
        _validated(data, origin)
    for dotted, value in (flags or {}).items():
        dotted = renamed(dotted, "command line: ")
        _forget_preset_plugin_options(data, dotted, value, preset_keys)
        _set_path(data, dotted, value)
        _validated(data, "command line: ")
    for text in overrides:
        dotted, value = parse_override(text)
        dotted = renamed(dotted, "--set: ")
        _forget_preset_plugin_options(data, dotted, value, preset_keys)
        _set_path(data, dotted, value)
        _validated(data, f"--set {text}: ")
    config = with_plugin_options(_validated(data, ""))
    warning = ignored(data)  # the lab's sections, without the lab: one line for the whole load
    if warning:
        log.warning("%s%s", origin, warning)
    return config


def with_plugin_options(config: Config) -> Config:
    """The source's and the sink's own options checked by the chosen plugins' `Options`, and
    kept typed (`sink.crf=18` as the int 18)."""
    sections = {name: typed_options(name, getattr(config, name)) for name in ("source", "sink")}
    return dataclasses.replace(config, **sections)


def _validated(data: dict[str, Any], where: str) -> Config:
    """`data` as a Config: its own sections, and those installed distributions add."""
    core = field_types(Config)
    try:
        added = build_added(data, core)
        config = build_section(Config, {k: v for k, v in data.items() if k in core}, "")
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from None
    return dataclasses.replace(config, added_sections=added) if added else config


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            items.extend(_flatten(value, dotted))
        else:
            items.append((dotted, value))
    return items


def _plain(value: Any) -> Any:
    """A dataclass's `asdict` as plain data: a plugin section's options among its own keys."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        options = value.pop("options", None) if "kind" in value else None
        return {k: _plain(v) for k, v in {**value, **(options or {})}.items()}
    if isinstance(value, str):
        return str(value)  # an override's raw text is a plain str
    return value


def config_to_dict(config: Config) -> dict[str, Any]:
    """Plain nested dicts/lists, suitable for YAML or JSON; the added sections the config
    names (the lab's `train`) at the top level, as a preset has them."""
    data = _plain(dataclasses.asdict(config))
    added = data.pop("added_sections")
    return {**data, **added}


def dump_config(config: Config, path: str | Path) -> Path:
    """Write the resolved config as YAML, atomically. Returns the path written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = config_to_dict(config)
    if data["panel"]["token"]:  # a secret: never written to disk
        data["panel"]["token"] = REDACTED
    text = yaml.safe_dump(data, sort_keys=False)
    return write_atomic(path, text)


def replace(config: Config, **sections: dict[str, Any]) -> Config:
    """A copy of `config` with some fields of some sections changed: replace(c, sink={'kind': 'null'})."""
    changed: dict[str, Any] = {}
    added = dict(config.added_sections)
    own = field_types(Config)
    for name, values in sections.items():
        section = getattr(config, name)
        data = {**_plain(dataclasses.asdict(section)), **values}
        (changed if name in own else added)[name] = build_section(type(section), data, name)
    return with_plugin_options(dataclasses.replace(config, **changed, added_sections=added))
