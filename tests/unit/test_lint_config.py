"""The ruff settings in pyproject.toml bite: real ruff, the project's own config, snippets given
on stdin under a path inside the repository (so per-file settings apply as they do in CI)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CLEAN = 'import os\n\n\ndef home() -> str:\n    return os.environ.get("HOME", "")\n'


def ruff(*args: str, code: str, path: str) -> subprocess.CompletedProcess[str]:
    """`ruff ARGS -` with `code` as the file `path`, read with the project's pyproject.toml."""
    if importlib.util.find_spec("ruff") is None:
        pytest.fail("ruff is not installed: pip install -e '.[dev]'")
    config = ["--config", str(ROOT / "pyproject.toml"), "--stdin-filename", str(ROOT / path)]
    command = [sys.executable, "-m", "ruff", *args, *config, "-"]
    return subprocess.run(command, input=code, capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_clean_code_passes_check_and_format() -> None:
    check = ruff("check", "--no-cache", code=CLEAN, path="reenact/lint_probe.py")
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = ruff("format", "--check", "--no-cache", code=CLEAN, path="reenact/lint_probe.py")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("import os\n", "F401"),  # pyflakes: an unused import
        ("x = 1  # noqa: E501\n", "RUF100"),  # a noqa that silences nothing
        ("def f(a=[]):\n    return a\n", "B006"),  # bugbear: a mutable default
        ("from typing import Callable\n\nf: Callable[[], None]\n", "UP035"),  # pyupgrade
    ],
)
def test_a_new_violation_fails_the_check(code: str, rule: str) -> None:
    result = ruff(
        "check", "--no-cache", "--output-format", "concise", code=code, path="reenact/lint_probe.py"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert rule in result.stdout


def test_per_file_settings_apply() -> None:
    """E731 (a lambda assigned to a name) is allowed in tests/ and an error in reenact/."""
    code = "double = lambda x: 2 * x\n"
    in_tests = ruff("check", "--no-cache", code=code, path="tests/unit/lint_probe.py")
    assert in_tests.returncode == 0, in_tests.stdout + in_tests.stderr
    in_package = ruff("check", "--no-cache", code=code, path="reenact/lint_probe.py")
    assert in_package.returncode == 1 and "E731" in in_package.stdout


def test_unformatted_code_fails_the_format_check() -> None:
    code = "def f( a,b ):\n    return {'a':a,'b':b}\n"
    result = ruff("format", "--check", "--no-cache", code=code, path="reenact/lint_probe.py")
    assert result.returncode == 1, result.stdout + result.stderr
