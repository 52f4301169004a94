"""`reenact pixel-rr apply|bench`: the pixel-regression model on a still, and its speed."""

from __future__ import annotations

import argparse
import time

from reenact.cli.common import add_config_options
from reenact.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pixel-rr",
        help="the pixel-regression model: apply to a face, benchmark",
        description="Per-pixel ridge regression (PAPERS.md section 5), trained "
        "by `reenact train pixel-rr`; one model per expression class.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    a = verbs.add_parser("apply", help="a target still with the class's expression, as a PNG")
    a.add_argument("cls", metavar="CLASS", help="smile, surprise, sad, wink ...")
    a.add_argument("--target", default="", metavar="IMAGE", help="default: the astronaut")
    a.add_argument("--models", default="shipped", metavar="DIR", help="default: shipped")
    a.add_argument("--out", default="out/pixel_rr.png", metavar="PNG")
    add_config_options(a)
    a.set_defaults(handler=cmd_apply)
    b = verbs.add_parser("bench", help="time applying each model to a 256 crop (median, p99)")
    b.add_argument("--models", nargs="+", default=["shipped"], metavar="DIR")
    b.add_argument("--frames", type=int, default=500)
    add_config_options(b)
    b.set_defaults(handler=cmd_bench)


def _models(folder: str, size: int) -> dict:
    from reenact.render.pixel_rr import load_pixel_rr, model_paths

    paths = model_paths(folder, size)
    if not paths:
        raise InputError(
            f"{folder}: no pixel_rr_<class>_{size}.safetensors; run `reenact train pixel-rr`"
        )
    return {cls: load_pixel_rr(path) for cls, path in paths.items()}


def cmd_apply(args: argparse.Namespace) -> int:
    import numpy as np

    from reenact.config import load_config
    from reenact.imageio import save_image
    from reenact.render.pixel_rr import PixelRRRenderer
    from reenact.pipeline.target import prepare_target

    config = load_config(args.config, args.overrides)
    size = config.renderer.size
    renderer = PixelRRRenderer(size=size, models=_models(args.models, size), expression=args.cls)
    if args.cls not in renderer.models:
        raise InputError(f"pixel-rr: no model for '{args.cls}'; have {', '.join(renderer.models)}")
    target = prepare_target(args.target, config)
    renderer.set_target(target.crop, target.landmarks_crop)
    output = target.compositor.paste(renderer.render(target.landmarks_crop))
    print(f"wrote {save_image(args.out, np.concatenate([target.frame, output], axis=1))}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import numpy as np

    from reenact.config import load_config
    from reenact.pipeline.target import prepare_target

    config = load_config(args.config, args.overrides)
    size = config.renderer.size
    crop = prepare_target("", config).crop
    out = np.empty_like(crop)
    print(
        f"pixel-rr apply at {size}x{size}x3, {args.frames} frames each (machine load shows in "
        "p99; compare on an idle machine)"
    )
    for folder in args.models:
        for cls, model in _models(folder, size).items():
            for _ in range(10):
                model.apply(crop, out=out)
            times = np.empty(args.frames)
            for i in range(args.frames):
                start = time.perf_counter_ns()
                model.apply(crop, out=out)
                times[i] = (time.perf_counter_ns() - start) / 1e6
            print(
                f"{folder:>20} {model.kind:>8} {cls:>9}: median {np.median(times):6.3f} ms  "
                f"p99 {np.percentile(times, 99):6.3f} ms"
            )
    return 0
