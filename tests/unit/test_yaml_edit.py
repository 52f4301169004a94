"""The user config edited in place (reenact.config.yaml_edit, ruamel.yaml's round trip): values
change, the user's comments, order, quoting and indentation stay, and a file the config reader
refuses, or one that cannot be kept, is left as it was with one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reenact.config.reader import read_config_file
from reenact.config.yaml_edit import update_yaml_file
from reenact.errors import ConfigError


def edit(path: Path, text: str, changes: dict) -> str:
    path.write_text(text)
    update_yaml_file(path, changes)
    assert not list(path.parent.glob(".*.partial"))  # written whole, through a rename
    return path.read_text()


def test_a_new_key_lands_in_its_section_above_the_comment_of_the_next_one(tmp_path):
    text = (
        "# mine\nstream:\n  intensity: 0.9  # a bit less\n\n# about the renderer\n"
        "renderer:\n  kind: 'warp'\n"
    )
    assert edit(
        tmp_path / "r.yaml",
        text,
        {"stream.gaze_gain": 0.5, "renderer.kind": "generator", "smoothing.enabled": False},
    ) == (
        "# mine\nstream:\n  intensity: 0.9  # a bit less\n  gaze_gain: 0.5\n\n"
        "# about the renderer\nrenderer:\n  kind: 'generator'\nsmoothing:\n  enabled: false\n"
    )


def test_the_files_own_indentation_is_kept_for_what_is_added(tmp_path):
    text = "stream:\n    intensity: 0.9\n    keys:\n      - a\n"
    assert edit(tmp_path / "r.yaml", text, {"stream.gaze_gain": 0.5, "eyes.gain": 1.5}) == (
        "stream:\n    intensity: 0.9\n    keys:\n      - a\n    gaze_gain: 0.5\n"
        "eyes:\n    gain: 1.5\n"
    )


def test_values_read_back_as_written_by_the_yaml_1_1_reader(tmp_path):
    """ruamel follows YAML 1.2, where `on` and `1:30` are text; the config reader (PyYAML)
    follows 1.1, where they are a bool and a number: such strings must be quoted."""
    path = tmp_path / "r.yaml"
    changes = {"a.switch": "on", "a.clock": "1:30", "a.word": "warp", "a.list": [1, "yes"]}
    text = edit(path, "a:\n  b: 1\n", changes)
    assert read_config_file(path) == {
        "a": {"b": 1, "switch": "on", "clock": "1:30", "word": "warp", "list": [1, "yes"]}
    }
    assert "  word: warp\n" in text and "  list: [1, 'yes']\n" in text  # plain where it can be


@pytest.mark.parametrize(
    ("text", "after"),
    [
        ("# mine\n---\na:\n  b: 1\n", "# mine\n---\na:\n  b: 1\n  c: 2\n"),
        ("# only comments\n\n# here\n", "# only comments\n\n# here\na:\n  c: 2\n"),
        (
            "# saved on Windows\r\na:\r\n  b: 1  # x\r\n",
            "# saved on Windows\r\na:\r\n  b: 1  # x\r\n  c: 2\r\n",
        ),
    ],
)
def test_the_lines_around_the_document_are_kept(tmp_path, text, after):
    path = tmp_path / "r.yaml"
    path.write_bytes(text.encode())
    update_yaml_file(path, {"a.c": 2})
    assert path.read_bytes().decode() == after


def test_a_missing_file_is_made_with_the_header(tmp_path):
    path = tmp_path / "folder" / "r.yaml"
    update_yaml_file(path, {"stream.intensity": 0.4}, header="# made by reenact\n")
    assert path.read_text() == "# made by reenact\nstream:\n  intensity: 0.4\n"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a: &x {b: 1}\nc: *x\n", r"line 2: an alias \(\*x\)"),
        ("a:\n  b: 1\na:\n  c: 2\n", r"line 3: found duplicate key \"a\""),
        ("- 1\n- 2\n", r"expected a mapping of sections"),
        ("a: [1, 2\n", r"line \d+: invalid YAML"),
    ],
)
def test_a_file_that_cannot_be_edited_is_one_line_and_left_as_it_was(tmp_path, text, says):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"^{path}: .*{says}") as error:
        update_yaml_file(path, {"a.b": 3})
    assert "\n" not in str(error.value)
    assert path.read_text() == text
