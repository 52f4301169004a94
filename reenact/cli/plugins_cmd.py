"""`reenact plugins` (installed sources and sinks, usable here or not) and `reenact doctor`."""

from __future__ import annotations

import argparse

from reenact.cli.doctor import cmd_doctor
from reenact.plugin_api import SINK_GROUP, SOURCE_GROUP, entry_points


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plugins",
        help="list installed sources and sinks and whether each works here",
        description="Every source and sink installed through the `reenact.sources` / "
        "`reenact.sinks` entry points, with whether it is usable on this machine and, if not, "
        "what to do.",
    )
    p.set_defaults(handler=cmd_plugins)
    d = sub.add_parser(
        "doctor",
        help="check Python, MediaPipe, ONNX Runtime, cameras, virtual cameras, extras",
        description="Checks what reenact needs and says what to do about each failure. Exits 1 "
        "when a required check fails ([FAIL]); what a machine may lack (cameras, a virtual "
        "camera) prints [warn] and names the way around it, and an optional extra that is not "
        "installed ([cuda], [train], [eval], [hotkeys]) prints [optional] and the pip command "
        "that adds it to this install.",
    )
    d.set_defaults(handler=cmd_doctor)


def plugin_rows(group: str) -> list[tuple[str, str, str]]:
    """(name, where it comes from, 'ok' or the reason it is unusable) for each plugin of a group."""
    rows = []
    for name, ep in sorted(entry_points(group).items()):
        origin = ep.dist.name if ep.dist is not None else ep.value
        try:
            cls = ep.load()
            reason = cls.probe(None) if hasattr(cls, "probe") else None
        except Exception as exc:  # a broken third-party plugin must not hide the others
            reason = f"cannot load {ep.value}: {exc}"
        rows.append((name, origin, reason or "ok"))
    return rows


def cmd_plugins(args: argparse.Namespace) -> int:
    for title, group in (("sources", SOURCE_GROUP), ("sinks", SINK_GROUP)):
        print(f"{title} ({group}):")
        for name, origin, status in plugin_rows(group):
            print(f"  {name:<12} {status}   [{origin}]")
    return 0
