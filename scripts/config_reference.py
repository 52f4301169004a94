"""Write docs/CONFIG.md, the configuration reference, from the config dataclasses themselves.

    python scripts/config_reference.py           # (re)write docs/CONFIG.md
    python scripts/config_reference.py --check   # exit 1 when docs/CONFIG.md is stale

One table per section of `reenact.config.schema.Config` (nested sections such as
`fusion.gains` get their own), then the lab's sections (`reenact_lab.config`, which join the
config through the `reenact.config_sections` entry points), then the shipped plugins' `Options`. A row's type, choices,
default and range come from the field's annotation (`Literal[...]`, `Annotated[..., Range]`);
its meaning comes from the field's comments in the source: the block of comment lines directly
above it plus the comment at the end of its line (for a plugin, also the part of its `Options`
docstring that names the key). A comment block that could continue the line above as well as
describe the field below, or one that describes no field, is refused, as is a field with no
meaning at all: the reference is only as good as those comments.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import io
import json
import re
import sys
import tokenize
import types
import typing
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "CONFIG.md"
COMMAND = "python scripts/config_reference.py"
PLUGIN_GROUPS = (("source", "reenact.sources"), ("sink", "reenact.sinks"))
SHIPPED_PLUGINS = "reenact_plugins."  # entry points of this project, not of other installs
LAB = "reenact_lab."  # the lab's sections: this project's `reenact.config_sections` entry points
SKIPPED = {("source", "options"), ("sink", "options")}  # the plugin's keys, listed below


@dataclass(frozen=True)
class Option:
    """One row: `key`, its type or choices, default, allowed range and meaning."""

    key: str
    kind: str
    default: str
    range: str
    meaning: str


@dataclass(frozen=True)
class Table:
    """One section (or one plugin's options): a title, the class docstring, its rows."""

    title: str
    intro: str
    options: tuple[Option, ...]
    where: str  # the class, as file:Class


@dataclass(frozen=True)
class Comments:
    """Each field's comment text by name, and the comment lines the rules could not place."""

    by_field: dict[str, str]
    problems: tuple[str, ...]


# ---- comments: which comment lines describe which field ------------------------------------


class Comment(typing.NamedTuple):
    text: str  # without the '#'
    alone: bool  # nothing but the comment on its line
    column: int


@functools.cache
def _source(path: str) -> tuple[ast.Module, dict[int, Comment]]:
    """The module's AST and its comments by line."""
    text = Path(path).read_text(encoding="utf-8")
    comments: dict[int, Comment] = {}
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            alone = not token.line[: token.start[1]].strip()
            comments[token.start[0]] = Comment(
                token.string.lstrip("#").strip(), alone, token.start[1]
            )
    return ast.parse(text), comments


def _class_node(tree: ast.Module, qualname: str) -> ast.ClassDef:
    body: list[ast.stmt] = tree.body
    node = None
    for part in qualname.split("."):
        node = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == part)
        body = node.body
    assert node is not None
    return node


def _field_nodes(node: ast.ClassDef) -> list[ast.AnnAssign]:
    return [
        n
        for n in node.body
        if isinstance(n, ast.AnnAssign)
        and isinstance(n.target, ast.Name)
        and "ClassVar" not in ast.unparse(n.annotation)
    ]


def _block_above(line: int, comments: dict[int, Comment]) -> list[int]:
    """The lines of the comment-only block that ends directly above `line`."""
    lines = []
    while line - 1 in comments and comments[line - 1].alone:
        line -= 1
        lines.append(line)
    return lines[::-1]


def _fields_end(
    node: ast.ClassDef, fields: list[ast.AnnAssign], comments: dict[int, Comment]
) -> int:
    """The last line of the class's fields and the comment lines that follow them (up to a
    method, or the end of the class's indented comments)."""
    last = fields[-1].end_lineno or fields[-1].lineno
    later = [n for n in node.body if n.lineno > last]
    if later:
        return (
            min(
                min([n.lineno, *(d.lineno for d in getattr(n, "decorator_list", []))])
                for n in later
            )
            - 1
        )
    while last + 1 in comments and comments[last + 1].column > node.col_offset:
        last += 1
    return last


def _ambiguous(
    block: list[int], trailing: list[int], above: int | None, comments: dict[int, Comment]
) -> bool:
    """A block between a field whose line ends in a comment and one that has its own: it may
    continue the first as well as describe the second."""
    if not (block and trailing and above is not None and above == block[0] - 1):
        return False
    return above in comments and not comments[above].alone


def field_comments(cls: type) -> Comments:
    """The comment text of each field of the dataclass `cls`, read from its source file."""
    path = str(inspect.getsourcefile(cls))
    tree, comments = _source(path)
    node = _class_node(tree, cls.__qualname__)
    where = f"{Path(path).name}:{cls.__qualname__}"
    fields = _field_nodes(node)
    by_field: dict[str, str] = {}
    placed: set[int] = set()
    problems: list[str] = []
    for index, item in enumerate(fields):
        name = item.target.id  # type: ignore[attr-defined]
        span = range(item.lineno, (item.end_lineno or item.lineno) + 1)
        trailing = [n for n in span if n in comments and not comments[n].alone]
        block = _block_above(item.lineno, comments)
        if _ambiguous(block, trailing, fields[index - 1].end_lineno if index else None, comments):
            problems.append(
                f"{where}: the comment above '{name}' (line {block[0]}) could "
                "continue the line above it; put a field's whole comment above it "
                "or at the end of its line"
            )
        placed.update(block, span)
        by_field[name] = " ".join(comments[n].text for n in [*block, *trailing])
    if fields:
        first, end = fields[0].lineno, _fields_end(node, fields, comments)
        for line in sorted(n for n, c in comments.items() if c.alone and first <= n <= end):
            if line not in placed:
                problems.append(f"{where}: the comment on line {line} describes no field")
    return Comments(by_field, tuple(problems))


# ---- rows: type, default and range from the annotation --------------------------------------


def _describe_type(annotation: object) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _describe_type(args[0])
    if origin is typing.Literal:
        return " / ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe_type(a) for a in args)
    if origin is tuple:
        return f"list of {_describe_type(args[0])}"
    return getattr(annotation, "__name__", str(annotation))


def _describe_range(annotation: object) -> str:
    from reenact.config.ranges import Range

    if typing.get_origin(annotation) is not typing.Annotated:
        return ""
    base, *marks = typing.get_args(annotation)
    each = "each " if typing.get_origin(base) is tuple else ""
    return "; ".join(each + m.describe() for m in marks if isinstance(m, Range))


def _describe_default(item: dataclasses.Field) -> str:
    if item.default is not dataclasses.MISSING:
        value = item.default
    elif item.default_factory is not dataclasses.MISSING:
        value = item.default_factory()
    else:
        return "(required)"
    if isinstance(value, tuple):
        return json.dumps(list(value))
    return json.dumps(value) if isinstance(value, (str, bool)) or value is None else repr(value)


def _docstring(cls: type) -> str:
    doc = cls.__doc__ or ""
    return "" if doc.startswith(f"{cls.__name__}(") else inspect.cleandoc(doc)


def section_tables(cls: type, prefix: str, problems: list[str]) -> list[Table]:
    """The table of the dataclass `cls` as section `prefix`, then those of its nested sections."""
    hints = typing.get_type_hints(cls, include_extras=True)
    notes = field_comments(cls)
    problems.extend(notes.problems)
    rows, nested = [], []
    for item in dataclasses.fields(cls):
        if (prefix, item.name) in SKIPPED:
            continue
        annotation = hints[item.name]
        if dataclasses.is_dataclass(annotation):
            nested += section_tables(annotation, f"{prefix}.{item.name}", problems)
            continue
        rows.append(
            Option(
                f"{prefix}.{item.name}",
                _describe_type(annotation),
                _describe_default(item),
                _describe_range(annotation),
                notes.by_field.get(item.name, ""),
            )
        )
    where = f"{Path(str(inspect.getsourcefile(cls))).name}:{cls.__qualname__}"
    return [Table(prefix, _docstring(cls), tuple(rows), where), *nested]


# ---- plugins: their Options, with the docstring's words for a key -----------------------------


def _parts(text: str) -> list[str]:
    """`text` split at each ';' outside brackets."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += (char in "([") - (char in ")]")
        if char == ";" and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    return [*parts, text[start:]]


def _docstring_part(doc: str, section: str, name: str) -> str:
    """The words of a plugin's Options docstring about one key: the ';'-separated part that
    names `section.name` or `name` in backticks, less the names themselves."""
    for part in _parts(" ".join(doc.split())):
        if f"`{section}.{name}`" in part or f"`{name}`" in part:
            words = re.sub(r"^\s*(`[\w.]+`\s*(/\s*)?)+", "", part).strip().lstrip(":").strip()
            return words.rstrip(".")
    return ""


def plugin_tables(problems: list[str]) -> list[Table]:
    """A table per shipped source and sink plugin (this project's entry points)."""
    from reenact.plugin_api import entry_points, load_plugin

    tables = []
    for section, group in PLUGIN_GROUPS:
        for name, point in sorted(entry_points(group).items()):
            if not point.value.startswith(SHIPPED_PLUGINS):
                continue
            options = load_plugin(group, name).Options
            doc = _docstring(options)
            table = section_tables(options, section, problems)[0]
            rows = tuple(
                dataclasses.replace(
                    row,
                    meaning="; ".join(
                        filter(
                            None,
                            (_docstring_part(doc, section, row.key.split(".")[-1]), row.meaning),
                        )
                    ),
                )
                for row in table.options
            )
            title = f"{section} `{name}` (`--{section} {name}`, `{section}.kind: {name}`)"
            tables.append(Table(title, "", rows, table.where))
    return tables


def lab_tables(problems: list[str]) -> list[Table]:
    """The tables of the lab's sections (this project's `reenact.config_sections` entry points;
    without the lab installed there are none, and `--check` says the file is stale)."""
    from reenact.config.sections import GROUP, LAB_SECTIONS
    from reenact.plugin_api import entry_points

    found = entry_points(GROUP)
    # the runtime's order (train before eval), then any the lab adds later
    names = [*LAB_SECTIONS, *sorted(set(found) - set(LAB_SECTIONS))]
    tables = []
    for name in names:
        if name in found and found[name].value.startswith(LAB):
            tables += section_tables(found[name].load(), name, problems)
    return tables


# ---- the document ---------------------------------------------------------------------------

HEADER = f"""# Configuration reference

Generated by `{COMMAND}` from the config dataclasses
(`reenact/config/schema.py`, `reenact/config/jobs.py`, the lab's
`reenact-lab/reenact_lab/config.py`) and the shipped plugins' `Options`: do
not edit by hand; change the field's comment and run the command again
(`tests/unit/test_config_reference.py` fails while this file is stale).

Every key can be set in a YAML preset (`configs/`, nested as `section: {{key: value}}`) or on the
command line with `--set section.key=value`. Types, choices and ranges are checked when the
config is loaded; a wrong value is one line naming the key.
"""

JOBS = """## The jobs' own settings

The pixel regression: trained by `reenact train pixel-rr` (the lab), and read at run time only by
`renderer.kind: pixel-rr` and `presets.pixel_rr`.
"""

LAB_SECTIONS = """## The lab's settings (with the lab installed)

Read by the lab's jobs (`reenact prepare`, `reenact train`, `reenact eval`), never by `reenact
live` or `reenact run`. These sections belong to the lab (`pip install 'reenact[train]'` or
`'reenact[eval]'`; in a checkout `pip install -e reenact-lab`), which adds them to the config.
A loaded config carries one only where a preset or `--set` names it (`reenact live`'s has
none). Without the lab, a config that has them still loads: they are left out, with one warning
line.
"""

PLUGINS = """## Plugins' own options

`source.*` and `sink.*` keys other than the section's own belong to the chosen plugin
(`source.kind` / `sink.kind`); `reenact plugins` lists what is installed.
"""


def _cell(text: str) -> str:
    """Table-cell text: a '|' would end the cell, a '<' start an HTML tag."""
    if not text:
        return "-"
    parts = text.replace("|", "\\|").replace("\n", " ").split("`")
    return "`".join(p if i % 2 else p.replace("<", "&lt;") for i, p in enumerate(parts))


def render_table(table: Table, level: str = "###") -> str:
    lines = [f"{level} {table.title}", ""]
    if table.intro:
        lines += [table.intro, ""]
    if not table.options:
        return "\n".join([*lines, "No options.", ""])
    lines += ["| key | type | default | range | meaning |", "|---|---|---|---|---|"]
    for o in table.options:
        cells = (
            f"`{o.key}`",
            _cell(o.kind),
            f"`{o.default}`" if o.default else "-",
            _cell(o.range),
            _cell(o.meaning),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, ""])


def build() -> tuple[str, list[Table], list[str]]:
    """(the document, every table, every problem) for the config as the source declares it."""
    from reenact.config.schema import Config

    problems: list[str] = []
    live, jobs = [], []
    for item in dataclasses.fields(Config):
        if not item.metadata.get("key", True):  # `added_sections`: the lab's, listed below
            continue
        section = typing.get_type_hints(Config)[item.name]
        tables = section_tables(section, item.name, problems)
        (jobs if section.__module__.endswith(".jobs") else live).extend(tables)
    lab = lab_tables(problems)
    plugins = plugin_tables(problems)
    parts = [
        HEADER,
        "## The live settings\n",
        "Read by `reenact live`, `reenact run` and every command that renders.\n",
        *map(render_table, live),
        JOBS,
        *map(render_table, jobs),
        LAB_SECTIONS,
        *map(render_table, lab),
        PLUGINS,
        *map(render_table, plugins),
        renamed_table(),
    ]
    tables = live + jobs + lab + plugins
    return "\n".join(parts).rstrip() + "\n", tables, problems


def renamed_table() -> str:
    """The keys that moved (`reenact.config.renamed`): the old ones still load, with a warning."""
    from reenact.config.renamed import RENAMED

    lines = [
        "## Keys that moved",
        "",
        "These keys of `stream` have sections of their own now. The old keys still load through "
        "0.1.x, each with a warning naming its new key (presets, `--set`, the user config and "
        "`POST /settings`).",
        "",
        "| old key | new key |",
        "|---|---|",
    ]
    lines += [f"| `{old}` | `{new}` |" for old, new in RENAMED.items()]
    return "\n".join(lines) + "\n"


def undocumented(tables: list[Table]) -> list[str]:
    """The keys whose meaning is empty, each with its class: 'source.path (video.py:...)'."""
    return [f"{o.key} ({t.where})" for t in tables for o in t.options if not o.meaning.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/CONFIG.md is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    text, tables, problems = build()
    problems += [f"{key}: no comment says what it means" for key in undocumented(tables)]
    for problem in problems:
        print(f"config_reference: {problem}", file=sys.stderr)
    if problems:
        return 1
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale; run: {COMMAND}", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    count = sum(len(t.options) for t in tables)
    print(f"wrote {args.output} ({len(tables)} tables, {count} keys)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
