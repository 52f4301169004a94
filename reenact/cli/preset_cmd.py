"""`reenact preset list|record|find|show|fire`: expression presets (smile, surprise, ...)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reenact.cli.common import add_config_options
from reenact.errors import InputError

SOURCE_FORMS = "video:CLIP[:FRAME] | webcam[:INDEX] | image:PATH | stills:DIR:CONDITION"


def register(sub: argparse._SubParsersAction) -> None:
    preset = sub.add_parser(
        "preset",
        help="expression presets: list, record, find frames, preview, fire",
        description="An expression preset is a face's landmark deviation from its neutral, "
        "stored normalised (eyes level, inter-ocular units) so it transfers to any face. In "
        "`reenact live` keys 1-6 toggle the presets named in presets.keys; the control interface "
        "takes preset_on:NAME / preset_off:NAME (held) and preset:NAME (toggle).",
    )
    verbs = preset.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = verbs.add_parser("list", help="the shipped presets and your own")
    add_config_options(listing)
    listing.set_defaults(handler=cmd_list)
    _add_record(verbs)
    _add_find_show_fire(verbs)


def _add_record(verbs: argparse._SubParsersAction) -> None:
    record = verbs.add_parser(
        "record",
        help="record a preset from a clip frame, the camera or stills",
        epilog="examples: reenact preset record grin --source video:clip.mp4:120 | reenact preset "
        "record pout --source video:clip.mp4 --class pout | reenact preset record mine "
        "--source webcam:0 --seconds 3",
    )
    record.add_argument("name", help="preset name (letters, digits, - and _)")
    record.add_argument("--source", required=True, metavar="SPEC", help=SOURCE_FORMS)
    record.add_argument("--neutral", metavar="image:PATH", help="with image:PATH, its neutral")
    record.add_argument(
        "--class",
        dest="cls",
        default="",
        metavar="CLASS",
        help="smile, surprise, wink, pout, angry or sad: search a clip (or the "
        "camera) for the frame that shows it best",
    )
    record.add_argument(
        "--regions",
        default="",
        metavar="LIST",
        help="mask the preset to regions: mouth,eyes,brows,nose,jaw (default all)",
    )
    record.add_argument(
        "--exclude",
        default="",
        metavar="IDS",
        help="stills: subjects left out (default pixel_rr.holdout)",
    )
    record.add_argument("--seconds", type=float, default=3.0, help="webcam: hold time")
    record.add_argument(
        "--out",
        metavar="DIR",
        help="folder (default presets.folder, else `reenact paths`' presets)",
    )
    add_config_options(record)
    record.set_defaults(handler=cmd_record)


def _add_find_show_fire(verbs: argparse._SubParsersAction) -> None:
    find = verbs.add_parser("find", help="rank clip frames by an expression class")
    find.add_argument("cls", metavar="CLASS", help="smile, surprise, wink, pout, angry or sad")
    find.add_argument("clips", nargs="+", metavar="CLIP")
    find.add_argument("--top", type=int, default=5, help="frames listed")
    add_config_options(find)
    find.set_defaults(handler=cmd_find)

    show = verbs.add_parser("show", help="a target still with a preset fired, as a PNG")
    show.add_argument("name")
    show.add_argument("--target", default="", metavar="IMAGE", help="default: the astronaut")
    show.add_argument("--out", default="out/preset.png", metavar="PNG")
    show.add_argument("--renderer", default="warp", help="warp or another registered renderer")
    add_config_options(show)
    show.set_defaults(handler=cmd_show)

    fire = verbs.add_parser(
        "fire",
        help="fire a preset in a running `reenact live`",
        description="Sends preset_on:NAME to the control interface "
        "(panel.port), then preset_off:NAME after --hold seconds; "
        "with --toggle sends preset:NAME once.",
    )
    fire.add_argument("name")
    fire.add_argument("--port", type=int, required=True, help="the session's control port")
    fire.add_argument("--token", required=True, help="the session's control token")
    fire.add_argument("--hold", type=float, default=1.0, help="seconds held (default 1)")
    fire.add_argument("--toggle", action="store_true", help="toggle instead of hold")
    fire.set_defaults(handler=cmd_fire)


def _config(args: argparse.Namespace):
    from reenact.config import load_config

    return load_config(args.config, args.overrides)


def cmd_list(args: argparse.Namespace) -> int:
    from reenact.fusion.presets import load_preset, preset_files, user_presets_folder

    config = _config(args)
    keys = {name: i + 1 for i, name in enumerate(config.presets.keys)}
    files = preset_files(user_presets_folder(config.presets.folder))
    if not files:
        print("no presets found")
        return 0
    for name, path in files.items():
        p = load_preset(path)
        key = f"key {keys[name]}" if name in keys else "     "
        regions = ",".join(p.regions) or "face"
        print(f"{name:<12} {key}  {regions:<12} {p.source}  [{path}]")
    return 0


def _parse_source(spec: str) -> tuple[str, list[str]]:
    kind, _, rest = spec.partition(":")
    if kind not in ("video", "webcam", "image", "stills"):
        raise InputError(f"--source {spec}: use {SOURCE_FORMS}")
    parts = rest.rsplit(":", 1) if kind in ("video", "stills") and ":" in rest else [rest]
    if kind == "video" and len(parts) == 2 and not parts[1].isdigit():
        parts = [rest]  # a ':' inside the path, no frame number
    return kind, [p for p in parts if p != ""]


def _record(args: argparse.Namespace, config, size: int):
    from reenact.fusion import preset_record as rec

    kind, parts = _parse_source(args.source)
    if kind == "video":
        path = Path(parts[0]) if parts else None
        if path is None or not path.is_file():
            raise InputError(f"--source {args.source}: clip not found")
        frame = int(parts[1]) if len(parts) == 2 else None
        return rec.from_video(path, config, size, frame=frame, cls=args.cls)
    if kind == "image":
        if not args.neutral or not args.neutral.startswith("image:"):
            raise InputError("--source image:PATH needs --neutral image:PATH (the same face)")
        return rec.from_stills(Path(parts[0]), Path(args.neutral[6:]), config, size)
    if kind == "stills":
        if len(parts) != 2:
            raise InputError(f"--source {args.source}: write stills:DIR:CONDITION")
        from reenact.landmarks.flip import flip_landmarks

        exclude = tuple(x for x in args.exclude.split(",") if x) or config.pixel_rr.holdout
        return rec.from_numbered(
            Path(parts[0]), parts[1], config, size, exclude=exclude, mirror=flip_landmarks
        )
    from reenact.config import replace
    from reenact.plugin_api import SOURCE_GROUP, load_plugin

    cfg = replace(config, source={"kind": "webcam", "path": parts[0] if parts else "0"}).source
    with load_plugin(SOURCE_GROUP, "webcam")(cfg) as source:
        return rec.from_camera(source, config, size, seconds=args.seconds, cls=args.cls)


def cmd_record(args: argparse.Namespace) -> int:
    from reenact.fusion.presets import check_name, make_preset, save_preset, user_presets_folder

    config = _config(args)
    check_name(args.name)
    size = config.renderer.size
    recording = _record(args, config, size)
    regions = tuple(r for r in args.regions.split(",") if r)
    cls = args.cls or (
        args.name if args.name in ("smile", "surprise", "wink", "pout", "angry", "sad") else ""
    )
    preset = make_preset(
        args.name,
        recording.neutral,
        recording.expression,
        size,
        source=recording.source,
        expression_class=cls,
        regions=regions,
        extra=recording.extra,
    )
    path = save_preset(preset, args.out or user_presets_folder(config.presets.folder))
    print(f"recorded preset {args.name} from {recording.source} -> {path}")
    return 0


def cmd_find(args: argparse.Namespace) -> int:
    import numpy as np

    from reenact.fusion import preset_record as rec

    config = _config(args)
    size = config.renderer.size
    rows = []
    for clip in args.clips:
        indices, faces = rec.track_clip(Path(clip), config, size)
        scores = rec.rank_frames(faces, rec.least_expressive_neutral(faces), args.cls, size)
        rows += [(float(s), clip, int(i)) for s, i in zip(scores, indices) if np.isfinite(s)]
    for score, clip, index in sorted(rows, reverse=True)[: args.top]:
        print(f"{score:7.3f}  video:{clip}:{index}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from reenact.fusion.presets import load_library, user_presets_folder
    from reenact.tools.preset_preview import preset_strip

    config = _config(args)
    library = load_library(user_presets_folder(config.presets.folder))
    if args.name not in library:
        raise InputError(f"preset '{args.name}' not found; `reenact preset list` shows them")
    path = preset_strip(library[args.name], args.target, config, args.renderer, Path(args.out))
    print(f"wrote {path}")
    return 0


def cmd_fire(args: argparse.Namespace) -> int:
    import time
    import urllib.error
    import urllib.request

    def post(action: str) -> None:
        url = f"http://127.0.0.1:{args.port}/action/{action}"
        request = urllib.request.Request(
            url, method="POST", data=b"", headers={"X-Reenact-Token": args.token}
        )
        try:
            with urllib.request.urlopen(request, timeout=5):
                pass
        except urllib.error.HTTPError as err:
            raise InputError(f"control interface: {json.loads(err.read()).get('error')}") from None
        except OSError as exc:
            raise InputError(f"control interface at 127.0.0.1:{args.port}: {exc}") from None

    if args.toggle:
        post(f"preset:{args.name}")
        return 0
    post(f"preset_on:{args.name}")
    time.sleep(max(0.0, args.hold))
    post(f"preset_off:{args.name}")
    print(f"fired {args.name} for {args.hold:g} s", file=sys.stderr)
    return 0
