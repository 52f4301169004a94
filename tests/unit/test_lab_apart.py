"""The lab beside the product (docs/ARCHITECTURE.md): `lab/` imports `reenact`, never the reverse,
and the wheel carries `reenact` and `reenact_plugins` only.

A runtime module that imported the lab would fail on every install from the wheel, where `lab`
does not exist; the wheel test (tests/install/test_wheel.py) checks the built wheel itself, this
one the source and the build settings in a second.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = (ROOT / "reenact", ROOT / "plugins")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 has no tomllib; pip vendors the same reader
    from pip._vendor import tomli as tomllib


def lab_imports(source: str) -> list[int]:
    """Line numbers of the statements in `source` that import `lab` or a module under it,
    function-local and `TYPE_CHECKING` imports included (relative imports are the package's own)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name == "lab" or name.startswith("lab.") for name in names):
            found.append(node.lineno)
    return found


def test_no_runtime_module_imports_the_lab():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for folder in RUNTIME
        for path in sorted(folder.rglob("*.py"))
        for line in lab_imports(path.read_text(encoding="utf-8"))
    ]
    assert not found, "runtime modules that import lab/ (in no wheel):\n" + "\n".join(found)


def test_the_import_walk_catches_each_form():
    source = (
        "import lab\n"
        "import numpy, lab.render_carry as carry\n"
        "from lab import run_tool\n"
        "def late():\n    from lab.drawn_moves import main\n"
        "from .lab import x\n"  # the package's own `lab` module, not the top-level lab
        "import labels\nfrom laboratory import y\nfrom reenact.lab import z\n"
    )
    assert lab_imports(source) == [1, 2, 3, 5]


def test_the_wheel_settings_name_no_lab_package():
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    packages = settings["packages"]
    assert isinstance(packages, list), "packages found by a search could pick up lab/"
    assert not [p for p in packages if p == "lab" or p.startswith("lab.")]
    folders = settings["package-dir"]
    assert "lab" not in folders.values() and "lab" not in folders, folders


def test_the_lab_is_a_package_of_the_checkout():
    """Tests and `python -m lab.NAME` find it at the repository's root, not installed."""
    spec = importlib.util.find_spec("lab")
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).resolve() == ROOT / "lab" / "__init__.py"
    moved = {p.stem for p in (ROOT / "lab").glob("*.py")} - {"__init__"}
    left = {p.stem for p in (ROOT / "reenact" / "tools").glob("*.py")}
    assert moved and not moved & left, sorted(moved & left)


def test_every_runtime_package_is_in_the_wheel_settings():
    """A new sub-package of reenact/ left out of pyproject's list installs without its files."""
    packages = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
            "packages"
        ]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "reenact").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found - packages == set()
