"""Options shared by several commands, and turning them into a validated Config."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from reenact.config import Config, RendererConfig, field_choices, load_config
from reenact.errors import ConfigError
from reenact.plugin_api import (
    SINK_GROUP,
    SOURCE_GROUP,
    entry_points,
    load_plugin,
    parse_spec,
    plugin_for_path,
)

log = logging.getLogger(__name__)


def add_config_options(parser: argparse.ArgumentParser, *, preset: str | None = None) -> None:
    group = parser.add_argument_group("configuration")
    group.add_argument(
        "--config",
        "-c",
        default=preset,
        metavar="PRESET",
        help=f"a YAML preset: a file, or a name in configs/ (default: {preset or 'built-in'})",
    )
    group.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config value, e.g. --set renderer.size=512 (repeatable)",
    )
    loudness = group.add_mutually_exclusive_group()
    loudness.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="-v: reenact's debug lines too; -vv: every library's log lines, C++ ones included",
    )
    loudness.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    parser.set_defaults(default_config=preset)  # not the user's choice: kept settings win over it


def add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pipeline")
    group.add_argument(
        "--target",
        metavar="IMAGE",
        help="target portrait, video, or personal avatar (NAME.avatar, made by `reenact avatar "
        "train`: its own picture and generator) (default: astronaut)",
    )
    group.add_argument(
        "--renderer",
        choices=field_choices(RendererConfig, "kind"),
        help="generator (trained U-net), warp (training-free) or auto (default)",
    )
    group.add_argument("--weights", metavar="FILE", help="generator weights (.safetensors)")
    group.add_argument("--size", type=int, choices=[256, 512], help="aligned crop size")
    group.add_argument("--intensity", type=float, metavar="X", help="0 neutral .. 1 .. 1.5 strong")
    group.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")


SOURCE_HELP = "video:PATH | image:PATH | webcam:INDEX|DEVICE | PLUGIN:ARG"
SINK_HELP = "file:PATH.mp4 | stream:udp://HOST:PORT | virtualcam[:DEVICE] | window | null"


def spec_overrides(section: str, spec: str) -> dict[str, Any]:
    """'video:clip.mp4' -> {'source.kind': 'video', 'source.path': 'clip.mp4'}: the plugin turns
    the part after 'kind:' into its own options; a bare path picks the plugin by its suffix."""
    group = SOURCE_GROUP if section == "source" else SINK_GROUP
    kind, arg = parse_spec(spec)
    if kind and not arg.strip() and spec.rstrip().endswith(":"):  # 'file:' is not plain 'file'
        raise ConfigError(
            f"--{section} '{spec}': nothing after '{kind}:'; the {kind} "
            f"{section} needs a path (or its argument) there, or give '{kind}' "
            f"alone for its default"
        )
    if not kind:
        looks_like_path = any(c in spec for c in "./\\")
        if spec in entry_points(group) or not looks_like_path:  # a plugin name: 'null', 'window'
            kind, arg = spec, ""
        else:  # a bare path
            kind = plugin_for_path(group, spec)
    values: dict[str, Any] = {f"{section}.kind": kind}
    if arg:
        options = load_plugin(group, kind).spec_options(arg)
        values.update({f"{section}.{key}": value for key, value in options.items()})
    return values


def config_from_args(
    args: argparse.Namespace, *, kept_settings: bool = False, **base: Any
) -> Config:
    """Defaults < `base` (the command's own) < preset file < flags < --set overrides; with
    `kept_settings`, the user config (reenact.yaml: the user's and the panel's settings) for the
    keys the command line leaves alone."""
    flags: dict[str, Any] = {}
    if getattr(args, "source", None):
        flags.update(spec_overrides("source", args.source))
    if getattr(args, "sink", None):
        flags.update(spec_overrides("sink", args.sink))
    for attr, key in (
        ("target", "stream.target"),
        ("renderer", "renderer.kind"),
        ("weights", "renderer.weights"),
        ("size", "renderer.size"),
        ("intensity", "stream.intensity"),
        ("max_frames", "stream.max_frames"),
    ):
        value = getattr(args, attr, None)
        if value is not None:
            flags[key] = value
    if kept_settings:
        flags = {**_kept_settings(args, flags), **flags}
    return load_config(args.config, args.overrides, base=_nest(base), flags=flags)


def _kept_settings(args: argparse.Namespace, flags: dict[str, Any]) -> dict[str, Any]:
    """The user config's settings (reenact.stream.saved_settings) that no flag, --set or preset
    named with -c gives; one line says which are applied."""
    from reenact.config.load import parse_override, read_yaml, resolve_preset
    from reenact.stream.saved_settings import (
        applied_line,
        flatten,
        migrate_panel_file,
        saved_for_run,
    )

    moved = migrate_panel_file()  # an earlier version's panel.yaml, once
    if moved:
        log.info(moved)
    explicit = set(flags) | {parse_override(text)[0] for text in args.overrides}
    if args.config and args.config != getattr(args, "default_config", None):
        explicit |= set(flatten(read_yaml(resolve_preset(str(args.config)))))
    applied, overridden = saved_for_run(explicit)
    if applied or overridden:
        log.info(applied_line(applied, overridden))
    return applied


def preset_path(args: argparse.Namespace) -> Path | None:
    """The YAML file `--config` names (a path, or a preset in configs/), or None."""
    from reenact.config.load import resolve_preset

    name = getattr(args, "config", None)
    return resolve_preset(str(name)) if name else None


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for dotted, value in flat.items():
        section, _, key = dotted.partition("__")
        nested.setdefault(section, {})[key] = value
    return nested
