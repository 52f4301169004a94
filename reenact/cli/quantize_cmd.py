"""`reenact quantize`: the INT8 CPU generator, calibrated on real clips."""

from __future__ import annotations

import argparse
from pathlib import Path

from reenact.cli.common import add_config_options, config_from_args


def register(sub: argparse._SubParsersAction) -> None:
    q = sub.add_parser(
        "quantize",
        help="write the INT8 generator for ONNX Runtime (renderer.quantize=int8)",
        description="Static INT8 quantisation of the CPU generator (the shipped one, or "
        "renderer.weights) for ONNX Runtime, calibrated on real clips: each clip is tracked, "
        "its first face is the target and its frames drive it, as live. Writes "
        "<onnx cache>.int8.onnx beside the ONNX export in the cache folder's onnx/ (`reenact paths`; or "
        "renderer.onnx_path); then run with --set renderer.quantize=int8. Use clips of faces "
        "you do not evaluate on. Prints the INT8 model's mean difference from fp32.",
        epilog="example: reenact quantize --clips talk.mp4 smile.mp4 "
        "&& reenact live --set renderer.quantize=int8",
    )
    q.add_argument(
        "--clips",
        nargs="+",
        type=Path,
        required=True,
        metavar="VIDEO",
        help="calibration clips, one face each",
    )
    q.add_argument(
        "--frames",
        type=int,
        default=8,
        metavar="N",
        help="calibration frames per clip (default 8; ~10 MB of memory each)",
    )
    q.add_argument(
        "--stride", type=int, default=10, metavar="K", help="use every K-th frame (default 10)"
    )
    add_config_options(q)
    q.set_defaults(handler=cmd_quantize)


def cmd_quantize(args: argparse.Namespace) -> int:
    from reenact.errors import InputError
    from reenact.tools.quantize import quantize_cpu_generator

    for clip in args.clips:
        if not clip.is_file():
            raise InputError(f"{clip}: calibration clip not found")
    if args.frames < 1 or args.stride < 1:
        raise InputError("reenact quantize: --frames and --stride must be >= 1")
    config = config_from_args(args)
    result = quantize_cpu_generator(
        config, list(args.clips), frames=args.frames, stride=args.stride
    )
    print(
        f"wrote {result.path} ({result.inputs} calibration inputs, {result.seconds:.0f} s); "
        f"mean |INT8 - fp32| {result.mean_abs_diff:.2f} / 255"
    )
    print("use it: --set renderer.quantize=int8")
    return 0
