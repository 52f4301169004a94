"""`reenact bench` (latency and fps) and `reenact export onnx` (the CPU fast path)."""

from __future__ import annotations

import argparse
from pathlib import Path

from reenact.cli.common import SOURCE_HELP, add_config_options, config_from_args


def _csv(kind):
    return lambda text: [kind(v) for v in text.split(",") if v]


def register(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser(
        "bench", help="per-stage latency (median, p99) and end-to-end fps",
        description="Runs the whole loop on a clip for each crop size, generator width (full = "
        "paper, lite) and backend present (torch CPU, ONNX Runtime CPU, CUDA), plus the warp "
        "renderer, and prints a table; --json saves it with the device name and versions.",
        epilog="example: reenact bench --source video:clip.mp4 --sizes 256 --widths lite",
    )
    b.add_argument("--source", "-s", required=True, metavar="SPEC", help=SOURCE_HELP)
    b.add_argument("--sizes", type=_csv(int), default=[256, 512], help="crop sizes (256,512)")
    b.add_argument("--widths", type=_csv(str), default=["full", "lite"], help="full,lite")
    b.add_argument("--backends", type=_csv(str), default=None,
                   help="torch,onnx,cuda (default: every one present)")
    b.add_argument("--frames", type=int, default=100, help="frames per row (default 100)")
    b.add_argument("--no-live", action="store_true", help="skip the capture->sink latency row")
    b.add_argument("--json", type=Path, default=Path("out/bench.json"), help="where to save")
    add_config_options(b)
    b.set_defaults(handler=cmd_bench)

    k = sub.add_parser(
        "soak", help="run the loop for a set time on a looping clip; memory, fps, frame accounting",
        description="Plays a clip in a loop at its own rate, like a camera, through the whole "
        "pipeline for --duration seconds, and reports memory growth, fps per window and what "
        "happened to every frame (delivered, or dropped and counted).",
        epilog="example: reenact soak --source video:clip.mp4 --duration 600 --sink null",
    )
    k.add_argument("--source", "-s", required=True, metavar="SPEC", help=SOURCE_HELP)
    k.add_argument("--sink", "-o", default="null", metavar="SPEC", help="default: null")
    k.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    k.add_argument("--window", type=float, default=10.0, help="sampling window, seconds")
    k.add_argument("--warmup", type=float, default=10.0, help="seconds before memory baseline")
    k.add_argument("--json", type=Path, default=Path("out/soak.json"), help="where to save")
    k.add_argument("--renderer", choices=["auto", "generator", "warp"])
    add_config_options(k)
    k.set_defaults(handler=cmd_soak)

    e = sub.add_parser(
        "export", help="export the generator to ONNX for ONNX Runtime",
        description="Exports the generator (the shipped one, or --weights) to ONNX. The live "
        "loop uses it with --set renderer.backend=onnx --set renderer.onnx_path=FILE "
        "(by default it exports into ~/.cache/reenact on first use).",
    )
    e.add_argument("format", choices=["onnx"])
    e.add_argument("--weights", metavar="FILE", help="generator weights (default: shipped)")
    e.add_argument("--output", "-o", type=Path, default=Path("out/generator.onnx"))
    add_config_options(e)
    e.set_defaults(handler=cmd_export)


def cmd_bench(args: argparse.Namespace) -> int:
    from reenact.atomic import write_json
    from reenact.stream.bench import available_backends, format_table, run_bench

    config = config_from_args(args)
    backends = args.backends or available_backends()
    result = run_bench(
        config, sizes=args.sizes, widths=args.widths, backends=backends,
        frames=args.frames, live=not args.no_live,
    )
    print(format_table(result))
    write_json(args.json, result)
    print(f"saved {args.json}")
    return 0


def cmd_soak(args: argparse.Namespace) -> int:
    from reenact.atomic import write_json
    from reenact.stream.soak import format_report, run_soak

    config = config_from_args(args)
    result = run_soak(config, duration_s=args.duration, window_s=args.window,
                      warmup_s=min(args.warmup, args.duration / 2))
    print(format_report(result))
    write_json(args.json, result)
    print(f"saved {args.json}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from reenact.engine.backends import export_onnx
    from reenact.engine.factory import shipped_weights
    from reenact.engine.generator_runner import load_generator
    from reenact.errors import WeightsError

    config = config_from_args(args)
    weights = Path(args.weights) if args.weights else shipped_weights("generator", config.renderer.size)
    if weights is None:
        raise WeightsError("no shipped generator weights; pass --weights FILE")
    model, _ = load_generator(weights)
    export_onnx(model, args.output, channels=model.in_channels, size=model.size)
    print(f"wrote {args.output}")
    return 0
