"""The one reader of a user's YAML: preset files given with `-c` and the values of `--set`.

A file is sized by `stat` before it is opened (a device, FIFO or directory is refused unread),
read whole only under `MAX_BYTES`, decoded as UTF-8, and parsed with aliases refused and nesting
capped before any Python object is built, so a few hundred bytes can never expand into a tree of
millions of leaves ("billion laughs").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from reenact.errors import ConfigError
from reenact.files import special_kind

# The shipped presets are about 2 KB; 64 KB (some 1500 lines) keeps the parse of any accepted
# file to about a second and its tree to tens of MB.
MAX_BYTES = 64 * 1024
# Sections nest two deep and their values a level or two more; a deeper file is no config and
# would recurse through the composer.
MAX_DEPTH = 16


class RefusedYAML(yaml.MarkedYAMLError):
    """Well-formed YAML that a config may not use (an alias, too deep, a number too long)."""


# libyaml where it is installed: the pure-Python parser is some five times slower
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _refuse_aliases(text: str) -> None:
    """Walk the parser's events, never a built tree: an alias, or nesting past MAX_DEPTH, is
    refused before anything is composed or constructed."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise RefusedYAML(
                problem=f"an alias (*{event.anchor}) repeats another part of the "
                "document; aliases are not allowed in a config, write the values "
                "out",
                problem_mark=event.start_mark,
            )
        depth += isinstance(event, _OPEN) - isinstance(event, _CLOSE)
        if depth > MAX_DEPTH:
            raise RefusedYAML(
                problem=f"nested deeper than {MAX_DEPTH} levels", problem_mark=event.start_mark
            )


def load_text(text: str) -> Any:
    """Parse YAML text safely; raises yaml.YAMLError (RefusedYAML for what a config may not
    use)."""
    text = str(text)  # libyaml takes a str, not a subclass of one (an override's text)
    _refuse_aliases(text)
    try:
        return yaml.load(text, Loader=_LOADER)  # _LOADER is a safe loader
    except ValueError as exc:  # an int past Python's 4300-digit limit is well-formed YAML
        raise RefusedYAML(
            problem=f"a value that cannot be read ({str(exc).split(':')[0]})"
        ) from None


def _describe(path: Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    line = f" line {mark.line + 1}:" if mark else ""
    if isinstance(exc, RefusedYAML):
        return f"{path}:{line} {exc.problem}"
    problem = getattr(exc, "problem", None)
    return f"{path}:{line} invalid YAML" + (f" ({problem})" if problem else "")


def _read_bytes(path: Path) -> bytes:
    """At most MAX_BYTES of a regular file, its type and size checked before it is opened and
    again on the open descriptor (it may have been swapped in between)."""
    try:
        before = os.stat(path)
        if special_kind(before.st_mode) is None:
            # O_NONBLOCK: a FIFO put in its place after the stat must not hang the open
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as file:
                after = os.fstat(file.fileno())
                if special_kind(after.st_mode) is None and after.st_size <= MAX_BYTES:
                    data = file.read(MAX_BYTES + 1)
                    if len(data) <= MAX_BYTES:
                        return data
                before = after
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from None
    kind = special_kind(before.st_mode)
    if kind is not None:
        raise ConfigError(f"{path}: not a config file but {kind}")
    raise ConfigError(f"{path}: config file larger than {MAX_BYTES // 1024} KB")


def read_config_file(path: Path) -> Any:
    """The YAML document of a user's file, or a one-line ConfigError naming the file and where."""
    return parse_config_text(path, read_config_text(path))


def read_config_text(path: Path) -> str:
    """The text of a user's YAML file, sized, decoded and checked as `read_config_file` reads
    it (a one-line ConfigError naming the file otherwise); not parsed yet."""
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None
    unprintable = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if unprintable:  # NUL and other control characters: binary, or UTF-16 without its BOM
        offset = len(text[: unprintable.start()].encode("utf-8"))
        raise ConfigError(
            f"{path}: not text (control character #x{ord(unprintable.group()):02x} "
            f"at offset {offset}; binary, or UTF-16?); save it as UTF-8"
        )
    return text


def parse_config_text(path: Path, text: str) -> Any:
    """`text`, read from `path`, parsed by `load_text`; a one-line ConfigError naming the file
    and the line where it is not YAML or uses what a config may not (an alias)."""
    try:
        return load_text(text)
    except yaml.YAMLError as exc:
        raise ConfigError(_describe(path, exc)) from None
