"""`reenact eval`: every renderer on the same clips and portraits, one report."""

from __future__ import annotations

import argparse

from reenact.cli.common import add_config_options


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser(
        "eval",
        help="compare renderers: self- and cross-reenactment, temporal measures",
        description="Self-reenactment (SSIM, PSNR, L1 against the real frame in the aligned "
        "crop; the composite in the full frame, seam, sharpness, HaarPSI, mouth and eyes), "
        "cross-reenactment (identity kept; expression, gaze, head and blinks carried from the "
        "actor) and temporal measures (inter-frame SSIM, jitter) for the unchanged target, the "
        "training-free warp and every generator given, plus the shipped one. Writes "
        "report.json, report.md, report.html (one page: tables, plots, strips), plots/ and "
        "strips/ (PNG) and config.yaml into --out. Defaults come from configs/eval.yaml, whose "
        "paths (../shared/media/...) are relative to the repository root.",
        epilog="example: reenact eval --clips talk.mp4 smile.mp4 --portraits face.jpg "
        "--generator runs/generator/generator.safetensors --max-frames 60",
    )
    e.add_argument("--clips", nargs="+", metavar="VIDEO", help="driving / held-out clips")
    e.add_argument("--portraits", nargs="+", metavar="IMAGE", help="target portraits")
    e.add_argument(
        "--generator",
        action="append",
        metavar="WEIGHTS",
        dest="generators",
        help="a trained generator (.safetensors) to compare (repeatable)",
    )
    e.add_argument("--max-frames", type=int, metavar="N", help="frames per clip (0 = all)")
    e.add_argument("--out", metavar="DIR", help="report folder (default eval.out_dir)")
    e.add_argument("--no-progress", action="store_true", help="no progress bars")
    e.add_argument(
        "--stills",
        metavar="DIR",
        help="instead of clips: the posed-expression "
        "protocol on DIR (numbered stills NN_<condition>.png; NN_normal.png is the "
        "neutral target; subjects eval.stills_subjects, default 14 and 15, kept out "
        "of training); writes stills.json, stills.md, stills.html",
    )
    e.add_argument(
        "--avatar",
        metavar="NAME.avatar",
        help="instead: measure an avatar (reenact avatar train) on --clips (other clips of its "
        "person), its held-out tail and --actors; writes avatar.json, avatar.md, avatar.html",
    )
    e.add_argument(
        "--actors",
        nargs="+",
        metavar="VIDEO",
        default=[],
        help="with --avatar: clips of other people that drive the avatar",
    )
    add_config_options(e, preset="eval")
    e.set_defaults(handler=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from reenact.config import load_config
    from reenact_lab.eval.runner import run_eval

    flags = {
        "eval.clips": args.clips,
        "eval.portraits": args.portraits,
        "eval.max_frames": args.max_frames,
        "eval.out_dir": args.out,
        "eval.stills": args.stills,
    }
    if args.generators:
        flags["eval.generators"] = args.generators
    if args.avatar:  # the preset's clips are other people's: an avatar is measured on its own
        flags["eval.clips"] = args.clips or []
    if args.no_progress:
        flags["eval.progress"] = False
    config = load_config(
        args.config, args.overrides, flags={k: v for k, v in flags.items() if v is not None}
    )
    if config.eval.stills:
        return _stills(config)
    if args.avatar:
        return _avatar(config, args)
    result = run_eval(config)
    print(result.markdown.split("\n## ", 1)[0].rstrip())
    print(
        f"\nwrote {result.json_path}, {result.markdown_path}, report.html and "
        f"{len(result.report['files'])} PNGs under {result.out_dir}"
    )
    return 0


def _stills(config) -> int:
    from pathlib import Path

    from reenact_lab.eval.stills import run_stills
    from reenact_lab.eval.stills_report import markdown

    report = run_stills(config, config.eval.stills)
    print(markdown(report).split("\n**", 1)[0].rstrip())
    out = Path(config.eval.out_dir)
    print(f"\nwrote {out / 'stills.json'}, {out / 'stills.md'}, {out / 'stills.html'}")
    return 0


def _avatar(config, args) -> int:
    from pathlib import Path

    from reenact_lab.eval.avatar_eval import run_avatar_eval
    from reenact_lab.eval.avatar_report import avatar_markdown

    report = run_avatar_eval(config, args.avatar, actors=args.actors)
    print(avatar_markdown(report).split("\n## Pictures", 1)[0].rstrip())
    out = Path(config.eval.out_dir)
    print(f"\nwrote {out / 'avatar.json'}, {out / 'avatar.md'}, {out / 'avatar.html'}")
    return 0
