"""Lines per file and per function in reenact/, plugins/ and the lab's package (reenact-lab/):
about 400 and 50, split at a seam.

    python scripts/check_sizes.py [--max-file 400] [--max-function 50]

Prints the largest files and functions and every one over a limit; exits 1 when any is. A file
is split where it has a seam, never at a line count: tests/unit/test_import_graph.py fails on an
import circle or a private name imported across files, which a cut without a seam leaves. A file
over the limit with no seam to split at is listed in SEAMLESS with the reason, and then only
reported."""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# file -> why it stays whole past --max-file (it has no seam: one class, one table, one protocol)
SEAMLESS: dict[str, str] = {}


def sizes(paths: list[Path]) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(lines, file) per file and (lines, file:function) per function or method."""
    files, functions = [], []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(ROOT))
        files.append((len(text.splitlines()), name))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append((node.end_lineno - node.lineno + 1, f"{name}:{node.name}"))
    return sorted(files, reverse=True), sorted(functions, reverse=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-file", type=int, default=400)
    parser.add_argument("--max-function", type=int, default=50)
    args = parser.parse_args()
    paths = sorted(
        [
            *ROOT.glob("reenact/**/*.py"),
            *ROOT.glob("plugins/**/*.py"),
            *ROOT.glob("reenact-lab/reenact_lab/**/*.py"),
        ]
    )
    files, functions = sizes(paths)
    print("largest files:    " + ", ".join(f"{n} {f}" for n, f in files[:3]))
    print("largest functions: " + ", ".join(f"{n} {f}" for n, f in functions[:3]))
    for n, f in files:
        if n > args.max_file and f in SEAMLESS:
            print(f"over the limit, kept whole: {f} ({n} lines): {SEAMLESS[f]}")
    over = [(n, f) for n, f in files if n > args.max_file and f not in SEAMLESS]
    over += [(n, f) for n, f in functions if n > args.max_function]
    for n, f in over:
        print(f"over the limit: {f} ({n} lines)")
    print(f"{len(paths)} files, {len(functions)} functions; {len(over)} over the limits")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
