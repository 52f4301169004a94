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
    EvalConfig,
    FusionConfig,
    RendererConfig,
    SinkConfig,
    SmoothingConfig,
    SourceConfig,
    StreamConfig,
    TrackerConfig,
    TrainConfig,
)

__all__ = [
    "Config",
    "EvalConfig",
    "FusionConfig",
    "RendererConfig",
    "SinkConfig",
    "SmoothingConfig",
    "SourceConfig",
    "StreamConfig",
    "TrackerConfig",
    "TrainConfig",
    "config_to_dict",
    "dump_config",
    "field_choices",
    "load_config",
    "parse_override",
    "replace",
    "resolve_preset",
]
