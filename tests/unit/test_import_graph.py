"""The import graph of `reenact`, `reenact_plugins` and the lab's package `reenact_lab`: no
circles, no private names across files.

The graph is grimp's (the builder import-linter uses): every import statement counts, the ones
inside functions and under `TYPE_CHECKING` too, so a circle cannot hide behind a function-local
import. Private names are checked twice: ruff's PLC2701 (imports from other packages) and an AST
walk for the imports inside one package, which PLC2701 leaves alone by design.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp", reason="pip install -e '.[dev]' (grimp builds the graph)")

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "reenact": ROOT / "reenact",
    "reenact_plugins": ROOT / "plugins",
    "reenact_lab": ROOT / "reenact-lab" / "reenact_lab",
}


def import_cycles(*packages: str) -> list[list[str]]:
    """Every circle among the modules of `packages`: the strongly connected components of the
    import graph with more than one module (Tarjan's algorithm, iterative), each sorted."""
    graph = grimp.build_graph(*packages, cache_dir=None)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def describe(cycles: list[list[str]], *packages: str) -> str:
    """Each circle with its imports (importer -> imported, line numbers), for a failure."""
    graph = grimp.build_graph(*packages, cache_dir=None)
    lines = []
    for members in cycles:
        lines.append(" <-> ".join(members))
        for a in members:
            for b in sorted(graph.find_modules_directly_imported_by(a) & set(members)):
                found = graph.get_import_details(importer=a, imported=b)
                numbers = ", ".join(str(d["line_number"]) for d in found)
                lines.append(f"    {a} -> {b} (line {numbers})")
    return "\n".join(lines)


def test_reenact_its_plugins_and_the_lab_import_no_circle():
    cycles = import_cycles(*PACKAGES)
    assert not cycles, "import circles:\n" + describe(cycles, *PACKAGES)


def test_a_planted_circle_is_caught(tmp_path, monkeypatch):
    """Two modules that import each other, one of them only inside a function: a circle."""
    package = tmp_path / "planted_circle_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text(
        "def late():\n    from planted_circle_pkg import second\n    return second.VALUE\n"
    )
    (package / "second.py").write_text("from planted_circle_pkg import first\n\nVALUE = 1\n")
    (package / "third.py").write_text("from planted_circle_pkg import second\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cycles = import_cycles("planted_circle_pkg")
    assert cycles == [["planted_circle_pkg.first", "planted_circle_pkg.second"]]
    assert "first -> planted_circle_pkg.second (line 2)" in describe(cycles, "planted_circle_pkg")


def _ruff() -> str:
    found = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(found).exists():
        pytest.skip("ruff is not installed: pip install -e '.[dev]'")
    return found


def test_no_private_name_is_imported_from_another_package():
    """ruff PLC2701 (a preview rule) on reenact/, plugins/ and the lab's package."""
    result = subprocess.run(
        [
            _ruff(),
            "check",
            "--isolated",
            "--preview",
            "--select",
            "PLC2701",
            "--output-format",
            "concise",
            "reenact",
            "plugins",
            "reenact-lab/reenact_lab",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def private_imports(folder: Path, package: str, root: Path = ROOT) -> list[str]:
    """`file:line: name from module` for each private name (`_x`, not `__x__`) a file of
    `folder` (the package `package`) imports from a module of the same project, relative
    imports included."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        parts = [package, *path.relative_to(folder).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        here = parts if path.name == "__init__.py" else parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            base = here[: len(here) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    where = path.relative_to(root)
                    found.append(f"{where}:{node.lineno}: {alias.name} from {module}")
    return found


def test_no_private_name_is_imported_across_files():
    """What PLC2701 leaves alone: `from reenact.a import _b` inside reenact/."""
    found = [
        hit for package, folder in PACKAGES.items() for hit in private_imports(folder, package)
    ]
    assert not found, "private names imported across files:\n" + "\n".join(found)


def test_the_private_name_walk_catches_a_planted_import(tmp_path):
    folder = tmp_path / "reenact"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "__init__.py").write_text("")
    (folder / "sub" / "a.py").write_text("_hidden = 1\n__version__ = '0'\n")
    (folder / "sub" / "b.py").write_text(
        "from .a import _hidden, __version__\nfrom reenact.sub.a import _hidden as again\n"
    )
    found = private_imports(folder, "reenact", tmp_path)
    assert found == [
        "reenact/sub/b.py:1: _hidden from reenact.sub.a",
        "reenact/sub/b.py:2: _hidden from reenact.sub.a",
    ]
