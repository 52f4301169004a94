"""`reenact paths`: the user's folders (config, data, targets, avatars, presets, cache, logs)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    paths = sub.add_parser(
        "paths",
        help="where reenact keeps your config, gallery, presets, cache and logs",
        description="Prints reenact's folders, one per line: config (reenact.yaml, your own "
        "settings and the panel's), data, targets (the panel's gallery), avatars, presets, "
        "cache (ONNX builds) and logs (the resolved config and timings of runs whose output is "
        "no file). REENACT_CONFIG_DIR, REENACT_DATA_DIR, REENACT_CACHE_DIR and REENACT_LOG_DIR "
        "move them.",
        epilog="example: reenact paths --json | reenact paths --move-old",
    )
    paths.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    paths.add_argument(
        "--move-old",
        action="store_true",
        help="move ./out/targets and ./presets of an earlier version into the "
        "data folder (never over a file already there)",
    )
    paths.set_defaults(handler=cmd_paths)


def cmd_paths(args: argparse.Namespace) -> int:
    from reenact.paths import folders, user_config_file

    if args.move_old:
        from reenact.stream.old_folders import move_old

        for line in move_old(Path.cwd()):
            print(line)
        return 0
    found = {name: str(path) for name, path in folders().items()}
    if args.json:
        print(json.dumps({**found, "user_config": str(user_config_file())}, indent=2))
        return 0
    width = max(map(len, found))
    for name, path in found.items():
        print(f"{name:<{width}}  {path}")
    return 0
