"""Plugin options: each source and sink defines its own keys, as a frozen dataclass `Options`.

In the config, `source.<key>` / `sink.<key>` (other than the section's own fields, such as
`kind`) belong to the chosen plugin. They are checked at config load against that plugin's
`Options`: types as for every other field, and an unknown key is an error unless another
installed plugin of the group defines it (a preset written for one sink stays usable with
another: `-c stream_obs --sink window`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reenact.config.typed import build_section
from reenact.errors import ConfigError, ReenactError
from reenact.plugin_api import entry_points, load_plugin

SECTIONS = {"source": "reenact.sources", "sink": "reenact.sinks"}


def option_names(plugin: type[Any]) -> set[str]:
    """The keys a plugin's `Options` defines (a plugin class or an options class)."""
    options = plugin if dataclasses.is_dataclass(plugin) else plugin.Options
    return {f.name for f in dataclasses.fields(options)}


def _foreign_keys_owned(group: str, keys: set[str], kind: str) -> set[str]:
    """The keys among `keys` that some other installed plugin of `group` defines."""
    owned: set[str] = set()
    for name in entry_points(group):
        if name != kind and keys - owned:
            try:
                owned |= keys & option_names(load_plugin(group, name))
            except ReenactError:  # a plugin that cannot be imported here owns nothing
                continue
    return owned


def plugin_options(section_name: str, section: Any, plugin: type[Any] | None = None) -> Any:
    """The chosen plugin's `Options` built from a config section (`config.source` / `.sink`):
    its own keys from the section's options, and the section's fields it also defines
    (e.g. `reconnect_s`). Raises ConfigError naming `section_name.key` for a wrong type or a key
    no installed plugin defines."""
    group = SECTIONS[section_name]
    plugin = plugin or load_plugin(group, section.kind)
    names = option_names(plugin)
    stray = set(section.options) - names
    unknown = stray - _foreign_keys_owned(group, stray, section.kind) if stray else set()
    if unknown:
        key = sorted(unknown)[0]
        valid = ", ".join(
            sorted(names | {f.name for f in dataclasses.fields(section)} - {"options"})
        )
        raise ConfigError(
            f"unknown key '{section_name}.{key}' for the {section_name} "
            f"'{section.kind}' (valid keys here: {valid})"
        )
    data = {k: v for k, v in section.options.items() if k in names}
    for f in dataclasses.fields(section):
        if f.name in names and f.name not in data:
            data[f.name] = getattr(section, f.name)
    return build_section(plugin.Options, data, section_name)


def typed_options(section_name: str, section: Any) -> Any:
    """`section` with its plugin's own options checked and typed by the plugin's `Options`."""
    options = plugin_options(section_name, section)
    names = option_names(type(options))
    typed = {k: getattr(options, k) if k in names else v for k, v in section.options.items()}
    return dataclasses.replace(section, options=typed)
