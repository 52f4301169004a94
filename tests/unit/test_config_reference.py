"""docs/CONFIG.md is generated from the config dataclasses and their comments
(scripts/config_reference.py): it must match what the source declares now, every key must say
what it means, and the comment rules must catch a field that says nothing."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "config_reference.py"


@pytest.fixture(scope="module")
def reference():
    spec = importlib.util.spec_from_file_location("config_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def built(reference):
    return reference.build()


def test_every_key_says_what_it_means(reference, built):
    _, tables, problems = built
    assert problems == [], "\n".join(problems)
    missing = reference.undocumented(tables)
    assert missing == [], (
        "keys with no comment saying what they mean (a comment above the "
        "field or at the end of its line): " + ", ".join(missing)
    )
    keys = [o.key for t in tables for o in t.options]
    assert len(keys) > 150
    for key in (
        "stream.intensity",
        "fusion.gains.jaw",
        "renderer.boost.brows",
        "train.steps",
        "eval.clips",
        "pixel_rr.ridge",
        "source.mirror",
        "sink.bitrate_kbps",
    ):
        assert key in keys


def test_docs_config_md_is_current(reference, built):
    text, _, _ = built
    written = (ROOT / "docs" / "CONFIG.md").read_text(encoding="utf-8")
    assert written == text, (
        f"docs/CONFIG.md is stale (a config field or its comment changed); "
        f"regenerate it: {reference.COMMAND}"
    )


def test_rows_carry_type_default_and_range(built):
    _, tables, _ = built
    rows = {o.key: o for t in tables for o in t.options}
    assert rows["stream.intensity"].range == "in [0, 1.5]"
    assert rows["stream.intensity"].default == "1.0"
    assert rows["head.motion"].kind == '"off" / "rotate" / "full"'
    assert rows["renderer.size"].range == "a power of two in [64, 1024]"
    assert rows["train.fusion_mix"].range == "each >= 0"
    # a comment that goes on under its line is refused, so each meaning is the field's own
    assert rows["stream.target_end"].meaning.endswith("as a still target")
    assert rows["stream.target_max_frames"].meaning.startswith("a target video is pre-tracked")
    text, _, _ = built
    jobs = text.index("## The jobs' own settings")
    lab = text.index("## The lab's settings (with the lab installed)")
    assert text.index("### stream") < jobs < text.index("### pixel_rr") < lab
    assert lab < text.index("### train") < text.index("### eval")
    # the lab's sections are read from the lab's own classes, not from the runtime's schema
    assert rows["train.steps"].default == "2000"
    assert {t.where for t in tables if t.title in ("train", "eval")} == {
        "config.py:TrainConfig",
        "config.py:EvalConfig",
    }


PLANTED = '''
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from reenact.config.ranges import Range


@dataclass(frozen=True)
class Planted:
    """A section planted by the test."""

    # a block above the field,
    # over two lines
    said: Annotated[float, Range(0, 2)] = 1.0  # and the end of its line
    mode: Literal["a", "b"] = "a"  # a trailing comment
    # that could go on from the line above
    torn: int = 0  # or describe this one
    bare: str = ""
    # a comment about nothing that follows


@dataclass(frozen=True)
class Clean:
    """Nothing wrong here."""

    level: int = 3  # how much
'''


@pytest.fixture
def planted(tmp_path):
    path = tmp_path / "planted_config.py"
    path.write_text(textwrap.dedent(PLANTED), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("planted_config", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_a_planted_undocumented_field_fails_the_check(reference, planted):
    problems: list[str] = []
    tables = reference.section_tables(planted.Planted, "planted", problems)
    rows = {o.key: o for o in tables[0].options}
    assert rows["planted.said"].meaning == (
        "a block above the field, over two lines and the end of its line"
    )
    assert rows["planted.said"].range == "in [0, 2]"
    assert rows["planted.mode"].kind == '"a" / "b"'
    assert reference.undocumented(tables) == ["planted.bare (planted_config.py:Planted)"]
    assert any("above 'torn'" in p and "continue the line above" in p for p in problems)
    assert any("describes no field" in p for p in problems)

    clean: list[str] = []
    assert reference.undocumented(reference.section_tables(planted.Clean, "clean", clean)) == []
    assert clean == []


def test_check_mode_names_the_command_when_stale(reference, built, tmp_path, monkeypatch, capsys):
    text, _, _ = built
    stale = tmp_path / "CONFIG.md"
    stale.write_text(
        text.replace("| `stream.intensity` |", "| `stream.intensity_old` |"), encoding="utf-8"
    )
    monkeypatch.setattr(sys, "argv", ["config_reference.py", "--check", "--output", str(stale)])
    assert reference.main() == 1
    assert reference.COMMAND in capsys.readouterr().err
    stale.write_text(text, encoding="utf-8")
    assert reference.main() == 0
