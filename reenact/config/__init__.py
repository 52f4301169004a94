"""Configuration: nested frozen dataclasses loaded from YAML presets with `--set` overrides."""

from reenact.config.load import (
    config_to_dict,
    dump_config,
    field_choices,
    load_config,
    parse_override,
    replace,
    resolve_preset,
)
from reenact.config.schema import (
    Config,
    FusionConfig,
    RendererConfig,
    SinkConfig,
    SmoothingConfig,
    SourceConfig,
    StreamConfig,
    TrackerConfig,
)

__all__ = [
    "Config",
    "FusionConfig",
    "RendererConfig",
    "SinkConfig",
    "SmoothingConfig",
    "SourceConfig",
    "StreamConfig",
    "TrackerConfig",
    "config_to_dict",
    "dump_config",
    "field_choices",
    "load_config",
    "parse_override",
    "replace",
    "resolve_preset",
]
