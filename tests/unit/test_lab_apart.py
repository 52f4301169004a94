"""The lab beside the product (docs/ARCHITECTURE.md): `lab/` (developer diagnostics, in no wheel)
and `reenact-lab/` (training and evaluation, the `reenact-lab` distribution) import `reenact`,
never the reverse, and reenact's wheel carries `reenact` and `reenact_plugins` only.

A runtime module that imported either would fail on every install from the wheel, where neither
exists; the wheel test (tests/install/test_wheel.py) checks the built wheel itself, this one the
source, the build settings and the `reenact` command with and without the lab, in seconds.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from reenact.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = (ROOT / "reenact", ROOT / "plugins")
LAB_PACKAGE = ROOT / "reenact-lab" / "reenact_lab"
# the top-level packages no runtime module may import
LABS = ("lab", "reenact_lab")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 has no tomllib; pip vendors the same reader
    from pip._vendor import tomli as tomllib


def lab_imports(source: str) -> list[int]:
    """Line numbers of the statements in `source` that import `lab` or `reenact_lab` or a module
    under them, function-local and `TYPE_CHECKING` imports included (relative imports are the
    package's own)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name.split(".")[0] in LABS for name in names):
            found.append(node.lineno)
    return found


def test_no_runtime_module_imports_the_lab():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for folder in RUNTIME
        for path in sorted(folder.rglob("*.py"))
        for line in lab_imports(path.read_text(encoding="utf-8"))
    ]
    assert not found, "runtime modules that import a lab (in no runtime wheel):\n" + "\n".join(
        found
    )


def test_the_import_walk_catches_each_form():
    source = (
        "import lab\n"
        "import numpy, lab.render_carry as carry\n"
        "from lab import run_tool\n"
        "def late():\n    from lab.drawn_moves import main\n"
        "from .lab import x\n"  # the package's own `lab` module, not the top-level lab
        "import labels\nfrom laboratory import y\nfrom reenact.lab import z\n"
        "import reenact_lab.train.prepare\n"
        "def later():\n    from reenact_lab.eval import runner\n"
        "from reenact_laboratory import w\n"
    )
    assert sorted(lab_imports(source)) == [1, 2, 3, 5, 10, 12]


def test_the_wheel_settings_name_no_lab_package():
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    packages = settings["packages"]
    assert isinstance(packages, list), "packages found by a search could pick up lab/"
    assert not [p for p in packages if p.split(".")[0] in LABS]
    assert not [p for p in packages if p.split(".")[:2] in (["reenact", x] for x in MOVED)]
    folders = settings["package-dir"]
    assert not {"lab", "reenact-lab"} & (set(folders.values()) | set(folders)), folders


# what left the runtime for reenact_lab: whole packages, and the training-only networks and the
# lab's commands
MOVED = ("train", "eval", "metrics")
MOVED_FILES = (
    "nn/losses.py",
    "nn/detail_losses.py",
    "nn/patchgan.py",
    "nn/multiscale.py",
    "nn/local.py",
    "cli/train_cmd.py",
    "cli/eval_cmd.py",
    "cli/pixel_rr_cmd.py",
    "cli/avatar_cmd.py",
)


def test_training_and_evaluation_left_the_runtime():
    left = [name for name in MOVED if (ROOT / "reenact" / name).exists()]
    left += [name for name in MOVED_FILES if (ROOT / "reenact" / name).exists()]
    assert not left, f"still in reenact/: {left}"
    assert all((LAB_PACKAGE / name / "__init__.py").is_file() for name in MOVED)
    assert all((LAB_PACKAGE / name).is_file() for name in MOVED_FILES)


def _lab_settings() -> dict:
    return tomllib.loads((ROOT / "reenact-lab" / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_lab_package_is_in_its_wheel_settings():
    packages = set(_lab_settings()["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(LAB_PACKAGE.parent).parts)
        for init in LAB_PACKAGE.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found == packages


def test_the_extras_name_the_lab_of_the_same_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lab = _lab_settings()["project"]
    pin = f"reenact-lab=={project['version']}"
    assert lab["version"] == project["version"]
    assert pin in project["optional-dependencies"]["train"]
    assert pin in project["optional-dependencies"]["eval"]
    assert f"reenact=={project['version']}" in lab["dependencies"]


def test_the_lab_declares_every_lab_command():
    """Each entry point names a module whose `register` adds the commands `reenact` expects of
    the lab, and no other."""
    import argparse
    import importlib

    entries = _lab_settings()["project"]["entry-points"][cli.COMMAND_GROUP]
    sub = argparse.ArgumentParser().add_subparsers()
    for module in entries.values():
        importlib.import_module(module).register(sub)
    assert set(sub.choices) == set(cli.LAB_COMMANDS)


def test_the_lab_is_a_package_of_the_checkout():
    """Tests and `python -m lab.NAME` find it at the repository's root, not installed."""
    spec = importlib.util.find_spec("lab")
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).resolve() == ROOT / "lab" / "__init__.py"
    moved = {p.stem for p in (ROOT / "lab").glob("*.py")} - {"__init__"}
    left = {p.stem for p in (ROOT / "reenact" / "tools").glob("*.py")}
    assert moved and not moved & left, sorted(moved & left)


def test_the_lab_package_is_installed_from_the_checkout():
    """`make test` installs it editable (`pip install -e reenact-lab`), so tests and the `reenact`
    command see this checkout's files, not a copy."""
    spec = importlib.util.find_spec("reenact_lab")
    assert spec is not None, "pip install -e reenact-lab"
    assert spec.origin is not None
    assert Path(spec.origin).resolve() == LAB_PACKAGE / "__init__.py"


def _without_the_lab(monkeypatch) -> None:
    """`reenact` as a runtime-only install sees it: no `reenact.commands` entry points."""
    monkeypatch.setattr(cli, "metadata", SimpleNamespace(entry_points=lambda group: []))


@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (["train", "fusion", "-c", "train_fusion", "--set", "train.steps=1"], "train"),
        (["prepare", "clips/", "--out", "x"], "train"),
        (["eval", "--help"], "eval"),
        (["pixel-rr"], "train"),
        (["avatar", "train", "me.mp4", "--out", "me.avatar"], "train"),
    ],
)
def test_a_lab_command_without_the_lab_says_which_extra_in_one_line(
    monkeypatch, capsys, argv, extra
):
    _without_the_lab(monkeypatch)
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1, err
    assert f"pip install 'reenact[{extra}]'" in err and "pip install -e reenact-lab" in err
    assert err.startswith(f"reenact {argv[0]}: needs the lab"), err


def test_lab_metadata_without_its_package_counts_as_no_lab(monkeypatch, capsys):
    """An entry point left behind by an uninstalled lab (its metadata still on the path) gives
    the one line, not a traceback; a lab module that fails on another import still raises."""
    left = SimpleNamespace(value="reenact_lab_gone.cli.train_cmd")
    monkeypatch.setattr(cli, "metadata", SimpleNamespace(entry_points=lambda group: [left]))
    assert cli.main(["train", "fusion"]) == 2
    assert capsys.readouterr().err.startswith("reenact train: needs the lab")
    broken = SimpleNamespace(value="reenact.cli.main_gone")
    monkeypatch.setattr(cli, "metadata", SimpleNamespace(entry_points=lambda group: [broken]))
    monkeypatch.setattr(cli.importlib, "import_module", _fails_inside)
    with pytest.raises(ModuleNotFoundError):
        cli.build_parser()


_IMPORT = importlib.import_module


def _fails_inside(name: str):
    if name.startswith("reenact.cli.main_gone"):
        raise ModuleNotFoundError("No module named 'numpyx'", name="numpyx")
    return _IMPORT(name)


def test_help_lists_the_lab_commands_with_or_without_the_lab(monkeypatch):
    with_lab = cli.build_parser().format_help()
    _without_the_lab(monkeypatch)
    without = cli.build_parser().format_help()
    for command in cli.LAB_COMMANDS:
        assert command in with_lab and command in without
    assert "needs the lab" not in with_lab
    assert without.count("needs the lab") == len(cli.LAB_COMMANDS)


def test_with_the_lab_its_commands_parse_as_their_own(capsys):
    args = cli.build_parser().parse_args(["train", "fusion", "--steps", "3"])
    assert args.task == "fusion" and args.steps == 3
    assert args.handler.__module__ == "reenact_lab.cli.train_cmd"


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


def test_the_lab_logs_below_reenacts_logger():
    """`reenact`'s terminal set-up (`reenact.log`) shows the lines of `reenact.*` loggers only: a
    lab module's `logging.getLogger(__name__)` (`reenact_lab.*`) would be silent there."""
    import logging

    from reenact_lab import get_logger

    assert get_logger("reenact_lab.eval.runner").name == "reenact.lab.eval.runner"
    chain, logger = [], get_logger("reenact_lab.eval.runner").parent
    while logger is not None:
        chain.append(logger)
        logger = logger.parent
    assert logging.getLogger("reenact") in chain
    own = [
        str(path.relative_to(ROOT))
        for path in sorted(LAB_PACKAGE.rglob("*.py"))
        if "getLogger(__name__)" in path.read_text(encoding="utf-8")
    ]
    assert not own, f"use reenact_lab.get_logger(__name__): {own}"
