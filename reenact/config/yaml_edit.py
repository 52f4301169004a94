"""A few keys of a user's YAML config changed in place, the rest of their text kept.

The file is read and checked by `reenact.config.reader` first (its size, encoding, aliases and
depth), so ruamel.yaml's round-trip parser only sees text the config reader accepts; ruamel then
changes the values and writes the document back with its comments, key order, quoting and
indentation. A missing key goes at the end of its section, a missing section at the end of the
file. The result must read back, through the same reader, as exactly the old values with the
changes, or the file is left as it was.
"""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML, YAMLError
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from reenact.atomic import write_atomic
from reenact.config.reader import parse_config_text, read_config_text
from reenact.errors import ConfigError

DOCUMENT_START = re.compile(r"---(\s+#.*)?")  # a `---` line with nothing on it but a comment
INDENT = 2  # a file with no nested block to copy from gets the shipped presets' indent


def update_yaml_file(path: Path, changes: dict[str, Any], *, header: str = "") -> Path:
    """Set {dotted key: value} in the YAML file `path` (made, starting with the comment lines
    `header`, when it does not exist), atomically. ConfigError, the file unchanged, when it is
    not a mapping of sections or cannot be changed without changing its other values."""
    text = read_config_text(path) if path.exists() else header
    data = parse_config_text(path, text)
    if not isinstance(data, dict | None):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    wanted = copy.deepcopy(data or {})
    for dotted, value in changes.items():
        _set_nested(wanted, dotted.split("."), value)
    edited = _round_trip(path, text, changes)
    if parse_config_text(path, edited) != wanted:
        raise ConfigError(
            f"{path}: setting {', '.join(changes)} would change other values as "
            "this file is laid out; file left as it was, set them by hand"
        )
    return write_atomic(path, edited)


def _round_trip(path: Path, text: str, changes: dict[str, Any]) -> str:
    """`text` with `changes` made by ruamel.yaml's round-trip mode, indented as the file is."""
    writer = YAML(typ="rt")
    writer.preserve_quotes = True
    writer.width = 1 << 16  # never fold a user's long line
    try:
        document = writer.load(text)
    except YAMLError as exc:  # what PyYAML reads and ruamel refuses (a key given twice)
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ConfigError(
            f"{path}:{where} {problem}; fix it, or delete the file to start afresh"
        ) from None
    # a %YAML directive makes ruamel write the directive and `---` itself
    head = "" if writer.version else _head(text, whole=document is None)
    if document is None:  # empty, or comments only
        document = CommentedMap()
    writer.indent(**_indents(document))
    for dotted, value in changes.items():
        _set_in(document, dotted.split("."), _node(value))
    out = io.StringIO()
    writer.dump(document, out)
    newline = "\r\n" if "\r\n" in text else "\n"  # a file saved on Windows stays so
    return (head + out.getvalue()).replace("\r\n", "\n").replace("\n", newline)


def _set_nested(data: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    data[parts[-1]] = value


def _set_in(document: CommentedMap, parts: list[str], value: Any) -> None:
    """`_set_nested` for ruamel's document: the missing sections made around `value` first, so
    that what is added lands in the document as one entry (see `_append`)."""
    node, depth = document, 0
    while depth < len(parts) - 1 and isinstance(node.get(parts[depth]), dict):
        node, depth = node[parts[depth]], depth + 1
    for part in reversed(parts[depth + 1 :]):
        value = CommentedMap([(part, value)])
    if parts[depth] in node:
        node[parts[depth]] = value
    else:
        _append(node, parts[depth], value)


def _append(mapping: CommentedMap, key: str, value: Any) -> None:
    """Add `key` at the end of `mapping`, below its last line. ruamel keeps the blank and
    comment lines after a block's last entry (those above the next section) as that entry's
    comment, so they move down to the new last entry, to stay above what they precede."""
    before = _last_entry(mapping)
    mapping[key] = value
    after = _last_entry(mapping)
    if before is None or after is None:
        return
    holder, last = before
    entry = holder.ca.items.get(last)
    token = entry[2] if entry and len(entry) > 2 else None
    if token is None:
        return
    end_of_line, _, below = token.value.partition("\n")
    if not below:
        return
    if end_of_line:
        token.value = end_of_line + "\n"
    else:
        entry[2] = None
    new_holder, new_last = after
    new_holder.ca.items.setdefault(new_last, [None, None, None, None])[2] = CommentToken(
        "\n" + below, token.start_mark
    )


def _last_entry(mapping: CommentedMap) -> tuple[CommentedMap, Any] | None:
    """(mapping, key) of the entry written last in `mapping`'s block (the last key of its last
    section, and so on down), None for an empty one."""
    if not mapping:
        return None
    while True:
        key = list(mapping)[-1]
        child = mapping[key]
        if not isinstance(child, CommentedMap) or not child:
            return mapping, key
        mapping = child


def _node(value: Any) -> Any:
    """`value` as ruamel should write it for PyYAML (YAML 1.1, what reads the file) to read it
    back unchanged: a string that 1.1 would take for a bool, number or date quoted as PyYAML
    quotes it (ruamel follows YAML 1.2, where `on` is plain text), a list on one line."""
    if isinstance(value, str):
        quote = yaml.safe_dump(value)[0]
        return {"'": SingleQuotedScalarString, '"': DoubleQuotedScalarString}.get(quote, str)(value)
    if isinstance(value, list | tuple):
        seq = CommentedSeq(_node(item) for item in value)
        seq.fa.set_flow_style()
        return seq
    if isinstance(value, dict):
        return CommentedMap((key, _node(item)) for key, item in value.items())
    return value


def _indents(document: Any) -> dict[str, int]:
    """ruamel's indent settings (mapping, sequence, offset) as the file's first nested block
    mapping and block list use them, read off the positions ruamel keeps for each node."""
    found: dict[str, int] = {}
    pending = [document]
    while pending and len(found) < 2:
        node = pending.pop(0)
        if not isinstance(node, CommentedMap) or node.fa.flow_style():
            continue
        for key, child in node.items():
            column = node.lc.key(key)[1]
            if isinstance(child, CommentedMap) and child and not child.fa.flow_style():
                found.setdefault("mapping", child.lc.col - column)
                pending.append(child)
            elif isinstance(child, CommentedSeq) and child and not child.fa.flow_style():
                found.setdefault("offset", child.lc.col - column)
    mapping = found.get("mapping", INDENT)
    offset = found.get("offset", 0)
    return {"mapping": mapping, "sequence": max(mapping, offset + 2), "offset": offset}


def _head(text: str, *, whole: bool) -> str:
    """The lines before the content that ruamel drops, kept as they are: those up to a
    document's `---` line, or (`whole`, a document with no content) all comment lines."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if DOCUMENT_START.fullmatch(line.strip()):
            return "".join(lines[: i + 1])
        if line.strip() and not line.lstrip().startswith("#"):
            return "".join(lines[:i]) if whole else ""
    return "".join(lines) if whole else ""
