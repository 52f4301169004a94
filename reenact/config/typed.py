"""Typed dataclasses from nested mappings: every key, type, choice and range checked once.

The one builder behind the user config (`reenact.config.load`) and the plugins' own options
(`reenact.config.plugins`); a value's text from `--set` (`Raw`) is typed by the field it lands in.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import yaml

from reenact.config.ranges import check_ranges
from reenact.config.reader import RefusedYAML, load_text
from reenact.errors import ConfigError


def field_types(cls: type) -> dict[str, Any]:
    """Each config key's name and its resolved annotation: the fields, less those marked
    `metadata={"key": False}` (`Config.added_sections`, which holds sections, not a key)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.metadata.get("key", True)}


class Raw(str):
    """An override's text, typed by the field it lands in ('null' is a str for a str field)."""


def field_choices(cls: type, name: str) -> tuple[Any, ...]:
    """The choices of a `Literal[...]` field: field_choices(RendererConfig, "kind")."""
    return typing.get_args(typing.get_type_hints(cls)[name])


def check_choice(value: Any, annotation: Any, where: str) -> Any:
    """A `Literal[...]` field: `value` must be one of its choices (an override's text is read
    as the choices' type)."""
    choices = typing.get_args(annotation)
    if isinstance(value, str) and all(isinstance(c, str) for c in choices):
        value = str(value)
    elif isinstance(value, Raw):
        value = _override_value(value, where, fallback=value)
    if value not in choices:
        listed = ", ".join(str(c) for c in choices)
        raise ConfigError(f"{where}: '{value}' is not one of {listed}")
    return value


def _override_value(text: Raw, where: str, fallback: Any) -> Any:
    """An override's text read as YAML by the same reader as a preset file; text that is not
    YAML stays `fallback`, YAML a config may not use (an alias) is refused."""
    if not text.strip():
        return ""
    try:
        return load_text(text)
    except RefusedYAML as exc:
        raise ConfigError(f"{where}: {exc.problem}") from None
    except yaml.YAMLError:
        return fallback


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Check `value` against a field's annotation; ints widen to floats, lists become tuples."""
    if typing.get_origin(annotation) is typing.Literal:
        return check_choice(value, annotation, where)
    if isinstance(value, Raw):
        if annotation is str:
            return str(value)
        value = _override_value(value, where, fallback=str(value))
    origin = typing.get_origin(annotation)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return value
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        (item_type, _ellipsis) = typing.get_args(annotation)
        return tuple(_coerce(v, item_type, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(annotation):
            try:
                return _coerce(value, option, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} is not {annotation}")
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an integer of hundreds of digits
            raise ConfigError(f"{where}: {len(str(value))}-digit number is too large") from None
    if annotation is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if annotation in (bool, int, float, str) and type(value) is not annotation:
        raise ConfigError(
            f"{where}: expected {annotation.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def build_section(cls: type, data: dict[str, Any], where: str) -> Any:
    """Instantiate dataclass `cls` from a nested mapping, validating every key and type.

    A class with an `options` field (the source and sink sections) takes the keys it does not
    define into `options`: they belong to the chosen plugin (`reenact.config.plugins`)."""
    types_ = field_types(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else key
        if key not in types_ and "options" in types_:
            kwargs.setdefault("options", {})[key] = value
            continue
        if key not in types_:
            valid = ", ".join(sorted(types_))
            raise ConfigError(f"unknown key '{path}' (valid keys here: {valid})")
        annotation = types_[key]
        value = _coerce(value, annotation, path)
        if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
            value = build_section(annotation, value, path)
        if key == "options" and isinstance(value, dict):
            value = {**value, **kwargs.get("options", {})}
        kwargs[key] = value
    section = cls(**kwargs)
    check_ranges(section, where)
    return section


def build_value(cls: type, value: Any, where: str) -> Any:
    """A whole section's value (a mapping, or an override's text of one) as the dataclass
    `cls`, checked as `build_section` checks it: a section another distribution adds."""
    return build_section(cls, _coerce(value, cls, where), where)
