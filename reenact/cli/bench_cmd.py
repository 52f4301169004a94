"""`reenact bench` (latency and fps), `reenact soak`, and `reenact export onnx|weights`.

`export onnx` makes the CPU fast path; `export weights` turns a training checkpoint into a compact
shipping file (fp16 safetensors by default), as used for `reenact/models/`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reenact.cli.common import SOURCE_HELP, add_config_options, config_from_args
from reenact.config import RendererConfig, field_choices


def _csv(kind):
    return lambda text: [kind(v) for v in text.split(",") if v]


def _bench_inputs(b: argparse.ArgumentParser) -> None:
    """`reenact bench`'s inputs: a source to track, or a replay to render."""
    b.add_argument(
        "--source", "-s", metavar="SPEC", help=SOURCE_HELP + " (required unless --replay)"
    )
    b.add_argument(
        "--replay",
        type=Path,
        metavar="FILE",
        help="time the renderer alone on a saved replay (no camera, tracker or "
        "decoder needed; GPU stages timed with CUDA events)",
    )
    b.add_argument(
        "--save-replay",
        type=Path,
        metavar="FILE",
        help="track --source and save its fused landmarks per size for --replay",
    )


def register(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser(
        "bench",
        help="per-stage latency (median, p99) and end-to-end fps",
        description="Runs the whole loop on a clip for each crop size, generator width (full = "
        "paper, lite) and backend present (torch CPU, ONNX Runtime CPU, CUDA), plus the warp "
        "renderer, and prints a table; --json saves it with the device name and versions.",
        epilog="example: reenact bench --source video:clip.mp4 --sizes 256 --widths lite",
    )
    _bench_inputs(b)
    b.add_argument("--sizes", type=_csv(int), default=[256, 512], help="crop sizes (256,512)")
    b.add_argument(
        "--widths",
        type=_csv(str),
        default=["full", "lite", "shipped"],
        help="generator widths: full (paper, ngf 64), lite (ngf 16), a number (that ngf), "
        "shipped (default model)",
    )
    b.add_argument(
        "--backends",
        type=_csv(str),
        default=None,
        help="torch,onnx,cuda (default: every one present)",
    )
    b.add_argument("--frames", type=int, default=100, help="frames per row (default 100)")
    b.add_argument("--no-live", action="store_true", help="skip the capture->sink latency row")
    b.add_argument(
        "--profile",
        action="store_true",
        help="also time the steps inside each stage (the warp's corrections and "
        "painters, the generator's network call, the composite's parts, the fuse's) "
        "and print them under their stages; saved per row as 'steps' in --json",
    )
    b.add_argument("--json", type=Path, default=Path("out/bench.json"), help="where to save")
    add_config_options(b)
    b.set_defaults(handler=cmd_bench)
    _register_soak(sub)


def _register_soak(sub: argparse._SubParsersAction) -> None:
    k = sub.add_parser(
        "soak",
        help="run the loop for a set time on a looping clip; memory, fps, frame accounting",
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
    k.add_argument("--renderer", choices=field_choices(RendererConfig, "kind"))
    add_config_options(k)
    k.set_defaults(handler=cmd_soak)

    e = sub.add_parser(
        "export",
        help="export the generator to ONNX, or weights to a compact shipping file",
        description="onnx: exports the generator (the shipped one, or --weights) to ONNX. The "
        "live loop uses it with --set renderer.backend=onnx --set renderer.onnx_path=FILE "
        "(by default it exports into the cache folder of `reenact paths` on first use). "
        "weights: rewrites a trained network's safetensors (a generator or a fusion network, "
        "e.g. runs/NAME/checkpoints/step_N/generator.safetensors) with its floats stored as "
        "--dtype, and prints how far the stored values moved.",
    )
    e.add_argument("format", choices=["onnx", "weights"])
    e.add_argument("--weights", metavar="FILE", help="input weights (onnx default: shipped)")
    e.add_argument("--output", "-o", type=Path, help="default: out/generator.onnx for onnx")
    e.add_argument(
        "--dtype",
        choices=["float16", "bfloat16", "float32"],
        default="float16",
        help="storage dtype for `export weights` (default float16)",
    )
    add_config_options(e)
    e.set_defaults(handler=cmd_export)


def cmd_bench(args: argparse.Namespace) -> int:
    from reenact.atomic import write_json
    from reenact.errors import ConfigError
    from reenact.tools.bench import available_backends, format_profile, format_table, run_bench

    if args.replay is None and not args.source:
        raise ConfigError("reenact bench: give --source SPEC (or --replay FILE)")
    if args.replay is not None and args.save_replay is not None:
        raise ConfigError("reenact bench: --replay and --save-replay exclude each other")
    if args.replay is not None and args.profile:
        raise ConfigError("reenact bench: --profile times the whole loop; leave out --replay")
    config = config_from_args(args)
    backends = args.backends or available_backends()
    if args.replay is not None:
        return _bench_replay(args, config, backends)
    if args.save_replay is not None:
        from reenact.tools.replay import record_replay

        record_replay(config, sizes=args.sizes, frames=args.frames, path=args.save_replay)
        print(f"saved replay {args.save_replay}")
    result = run_bench(
        config,
        sizes=args.sizes,
        widths=args.widths,
        backends=backends,
        frames=args.frames,
        live=not args.no_live,
        profile=args.profile,
    )
    print(format_table(result))
    if args.profile:
        print(format_profile(result))
    write_json(args.json, result)
    print(f"saved {args.json}")
    return 0


def _bench_replay(args: argparse.Namespace, config, backends: list[str]) -> int:
    from reenact.atomic import write_json
    from reenact.tools.bench import format_replay_table, run_replay_bench

    if not args.replay.is_file():
        from reenact.errors import InputError

        raise InputError(f"{args.replay}: no such replay file")
    result = run_replay_bench(
        config,
        replay=args.replay,
        sizes=args.sizes,
        widths=args.widths,
        backends=backends,
        frames=args.frames,
    )
    print(format_replay_table(result))
    write_json(args.json, result)
    print(f"saved {args.json}")
    return 0


def cmd_soak(args: argparse.Namespace) -> int:
    from reenact.atomic import write_json
    from reenact.tools.soak import format_report, run_soak

    config = config_from_args(args)
    result = run_soak(
        config,
        duration_s=args.duration,
        window_s=args.window,
        warmup_s=min(args.warmup, args.duration / 2),
    )
    print(format_report(result))
    write_json(args.json, result)
    print(f"saved {args.json}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if args.format == "weights":
        return _export_weights(args)
    from reenact.engine.backends import export_onnx
    from reenact.engine.shipped import shipped_weights
    from reenact.render.generator import load_generator
    from reenact.errors import WeightsError

    config = config_from_args(args)
    weights = (
        Path(args.weights) if args.weights else shipped_weights("generator", config.renderer.size)
    )
    if weights is None:
        raise WeightsError("no shipped generator weights; pass --weights FILE")
    model, _ = load_generator(weights)
    output = args.output or Path("out/generator.onnx")
    export_onnx(model, output, channels=model.in_channels, size=model.size)
    print(f"wrote {output}")
    return 0


def _export_weights(args: argparse.Namespace) -> int:
    import torch

    from reenact.engine.weights import resave_weights
    from reenact.errors import InputError

    if not args.weights or not args.output:
        raise InputError("export weights needs --weights FILE and --output FILE")
    worst = resave_weights(args.weights, args.output, dtype=getattr(torch, args.dtype))
    size_mb = Path(args.output).stat().st_size / 2**20
    print(
        f"wrote {args.output} ({size_mb:.1f} MiB, {args.dtype}); "
        f"largest change of a stored value {worst:.2e}"
    )
    return 0
