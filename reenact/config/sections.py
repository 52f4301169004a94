"""Sections that another installed distribution adds to the config: the lab's `train` and `eval`.

A distribution declares each of its sections as an entry point of the `reenact.config_sections`
group, naming a frozen dataclass (`train = "reenact_lab.config:TrainConfig"`), as plugins declare
their sources and sinks. A config that names such a section has it built and checked by that
class at load, like every other section, and kept in `Config.added_sections`; `config.train`
reads it, or the class's defaults where the config does not name it. A runtime without the lab
still reads a config with a `train:` or `eval:` section (a training preset): it leaves the
section out, with one warning line naming the extra that installs it.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from reenact.config.typed import build_value
from reenact.errors import ConfigError
from reenact.plugin_api import entry_points

GROUP = "reenact.config_sections"
# The lab's sections and the extra that installs each (as `reenact.cli.main.LAB_COMMANDS`): a
# runtime without the lab reads a config naming them with a warning, not an unknown-key error.
LAB_SECTIONS = {"train": "train", "eval": "eval"}


@functools.cache
def section_classes() -> dict[str, type]:
    """The installed distributions' sections by name, each its dataclass (imported once)."""
    classes: dict[str, type] = {}
    for name, point in sorted(entry_points(GROUP).items()):
        try:
            classes[name] = point.load()
        except ImportError as exc:
            raise ConfigError(
                f"config section '{name}': cannot import {point.value}: {exc}"
            ) from None
    return classes


def build_added(data: Mapping[str, Any], core: Collection[str]) -> dict[str, Any]:
    """The installed sections that `data` (a config's top-level sections) names, each built and
    checked by its dataclass; the lab's sections, while the lab is not installed, are left out
    (`ignored` names them). A key neither in `core` nor installed is an unknown-key error."""
    extra = [key for key in data if key not in core]
    installed = section_classes() if extra else {}
    built: dict[str, Any] = {}
    for key in extra:
        if key in installed:
            built[key] = build_value(installed[key], data[key], key)
        elif key not in LAB_SECTIONS:
            valid = ", ".join(sorted({*core, *installed}))
            raise ConfigError(f"unknown key '{key}' (valid keys here: {valid})")
    return built


def ignored(data: Mapping[str, Any]) -> str:
    """The one warning line for the lab's sections that `data` names while the lab is not
    installed, or "" when there are none."""
    missing = [key for key in LAB_SECTIONS if key in data and key not in section_classes()]
    if not missing:
        return ""
    names = " and ".join(f"'{key}'" for key in missing)
    extras = " or ".join(f"pip install 'reenact[{LAB_SECTIONS[key]}]'" for key in missing)
    noun = "section" if len(missing) == 1 else "sections"
    return (
        f"config {noun} {names} ignored: the lab's settings, and the lab is not installed "
        f"({extras}; in a checkout: pip install -e reenact-lab)"
    )


def added_section(given: Mapping[str, Any], name: str) -> Any:
    """`config.<name>` for a section another distribution adds: as the config gave it, else the
    defaults of its installed class; an AttributeError otherwise (naming the extra for the lab's)."""
    if name in given:
        return given[name]
    if not name.startswith("_"):  # pickle and copy ask for dunders before the fields exist
        cls = section_classes().get(name)
        if cls is not None:
            return cls()
    if name in LAB_SECTIONS:
        raise AttributeError(
            f"config section '{name}' is the lab's, which is not installed: "
            f"pip install 'reenact[{LAB_SECTIONS[name]}]'"
        )
    raise AttributeError(f"'Config' object has no attribute '{name}'")


class AddedSections:
    """`Config`'s base: the sections other distributions add, read by name (`config.train`)."""

    if TYPE_CHECKING:  # the lab's sections by name, so that mypy still refuses a misspelt one
        train: ClassVar[Any]
        eval: ClassVar[Any]
    else:

        def __getattr__(self, name: str) -> Any:  # as loaded, else its defaults
            return added_section(self.__dict__.get("added_sections", {}), name)
