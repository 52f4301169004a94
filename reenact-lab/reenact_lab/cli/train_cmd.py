"""`reenact prepare` and `reenact train fusion|generator`."""

from __future__ import annotations

import argparse
import sys

from reenact.cli.common import add_config_options

TASKS = ("fusion", "fusion_residual", "generator", "pixel-rr")


def register(sub: argparse._SubParsersAction) -> None:
    prepare = sub.add_parser(
        "prepare", help="track clips and stills once; cache aligned crops and landmarks",
        description="Run the face tracker over clips, frame-sequence folders and folders of "
        "stills (flat or per-subject layouts), and cache the aligned crops (H.264 mp4 or a "
        "numpy-only .npz) and landmarks (.npz) per clip or identity. See docs/DATA.md.",
        epilog="example: reenact prepare ../shared/media/clips ../shared/media/expressions "
        "--out cache/prepared",
    )
    prepare.add_argument("inputs", nargs="*", metavar="PATH",
                         help="clips or folders (default: train.data)")
    prepare.add_argument("--out", metavar="DIR", help="cache folder (default: train.cache)")
    prepare.add_argument("--format", choices=["mp4", "npz"], dest="crops_format",
                         help="crops as H.264 mp4 (small) or uint8 npz (numpy only)")
    prepare.add_argument("--size", type=int, metavar="N", help="crop side (default renderer.size)")
    prepare.add_argument("--max-frames", type=int, metavar="N", help="frames per clip (0 = all)")
    prepare.add_argument("--stride", type=int, metavar="N", help="keep every N-th frame of a clip")
    prepare.add_argument("--carry", metavar="DIR",
                         help="also write a compact copy to carry to a GPU machine (yuv420p "
                         "crops, quantised landmarks; docs/TRAINING_ON_GPU.md)")
    prepare.add_argument("--carry-mib", type=float, default=45.0, metavar="MIB",
                         help="size budget of the carry copy (default 45)")
    prepare.add_argument("--carry-stride", type=int, default=1, metavar="N",
                         help="keep every N-th frame of each clip in the carry copy")
    add_config_options(prepare)
    prepare.set_defaults(handler=cmd_prepare)

    train = sub.add_parser(
        "train", help="train the fusion autoencoder (Phi), the U-net generator (Omega) or the "
        "pixel regression (pixel-rr)",
        description="Train Phi (`fusion`) first, then Omega (`generator`). Writes TensorBoard "
        "logs, PNG grids, validation.json, checkpoints and <task>.safetensors into train.out_dir. "
        "Runs on several GPUs (or CPU processes) under torchrun with the same command.",
        epilog="examples: reenact train fusion -c train_fusion | reenact train generator -c "
        "train_generator --set train.steps=500 | reenact train pixel-rr --data cache/prepared "
        "(per-pixel ridge regression, pixel_rr.*; seconds on a CPU) | torchrun --nproc_per_node 2 -m reenact.cli.main "
        "train generator -c train_generator",
    )
    train.add_argument("task", choices=TASKS, help="which module to train")
    train.add_argument("--data", nargs="+", metavar="PATH",
                       help="clips, folders or prepared caches (default: train.data)")
    train.add_argument("--out", metavar="DIR", help="run folder (default: train.out_dir)")
    train.add_argument("--steps", type=int, metavar="N", help="total optimisation steps")
    train.add_argument("--resume", metavar="CKPT", help="checkpoint folder, or 'latest'")
    add_config_options(train)
    train.set_defaults(handler=cmd_train)


def _config(args: argparse.Namespace, flags: dict[str, object]):
    """Defaults < preset < this command's flags (those given) < --set overrides."""
    from reenact.config import load_config

    given = {key: value for key, value in flags.items() if value is not None}
    return load_config(args.config, args.overrides, flags=given)


def cmd_prepare(args: argparse.Namespace) -> int:
    from reenact_lab.train.prepare import prepare

    config = _config(args, {"train.max_frames": args.max_frames,
                            "train.frame_stride": args.stride, "renderer.size": args.size})
    inputs = args.inputs or list(config.train.data)
    out = args.out or config.train.cache
    entries = prepare(inputs, config, out_dir=out, crops_format=args.crops_format,
                      progress=config.train.progress)
    frames = sum(e.num_frames for e in entries)
    faces = sum(int(e.valid.sum()) for e in entries)
    identities = len({e.identity for e in entries})
    print(f"prepared {len(entries)} entries ({identities} identities, {faces} of {frames} frames "
          f"with a face) in {out}")
    _summarise(entries, config, out)
    if args.carry:
        from reenact_lab.train.carry import pack_cache

        folder, mib, crf = pack_cache(entries, args.carry, budget_mib=args.carry_mib,
                                      stride=args.carry_stride, size=config.renderer.size)
        print(f"carry copy: {folder} ({mib:.1f} MiB, crf {crf}, stride {args.carry_stride})")
    return 0


def _summarise(entries, config, out: str) -> None:
    """Print and write (summary.json beside index.json) the identities and frames that training
    with this config uses, and those it holds out."""
    from reenact_lab.train.identities import assign_identities, data_summary, summary_lines
    from reenact_lab.train.identities import write_summary
    from reenact_lab.train.pairs import split_by_identity

    grouped = assign_identities(entries, config.train.identities)
    holdout = [h for h in config.train.val_holdout
               if h in {e.name for e in grouped} | {e.identity for e in grouped}]
    split = split_by_identity(grouped, holdout, config.train.val_fraction)
    summary = data_summary(split.train, split.val)
    for line in summary_lines(summary):
        print(line)
    print(f"summary: {write_summary(out, summary)}")


def cmd_train(args: argparse.Namespace) -> int:
    config = _config(args, {"train.data": args.data, "train.out_dir": args.out,
                            "train.steps": args.steps, "train.resume": args.resume})
    if args.task == "fusion_residual":  # the shipped Phi: landmarks only, one process
        from reenact_lab.train.fusion_residual import run_cli

        return run_cli(config)
    if args.task == "pixel-rr":
        return _train_pixel_rr(args, config)
    if args.task == "fusion":
        from reenact_lab.train.fusion_trainer import FusionTrainer as trainer_class
    else:
        from reenact_lab.train.generator_trainer import GeneratorTrainer as trainer_class
    trainer = trainer_class(config)
    try:
        result = trainer.run()
    finally:
        from reenact_lab.train.distributed import shutdown

        shutdown(trainer.info)
    if not trainer.info.is_main:
        return 0
    params = ", ".join(f"{k} {v:,}" for k, v in result.parameters.items())
    print(f"wrote {result.weights} ({result.steps} steps, {result.images_per_s:.2f} images/s; "
          f"parameters: {params})")
    if result.validation:
        print("validation: " + _summary(result.validation), file=sys.stderr)
    return 0


def _train_pixel_rr(args: argparse.Namespace, config) -> int:
    """Closed-form pixel regression from a prepared cache (--data, default train.cache)."""
    from pathlib import Path

    from reenact_lab.train.pixel_rr import describe, train_pixel_rr

    cache = Path(args.data[0] if args.data else config.train.cache)
    out = Path(args.out or config.pixel_rr.out_dir)
    summary = train_pixel_rr(cache, config.pixel_rr, out, config.renderer.size)
    print(f"wrote {len(summary['classes'])} {config.pixel_rr.kind} pixel-rr models to {out} in "
          f"{summary['total_s']} s ({describe(summary)})")
    return 0


def _summary(record: dict) -> str:
    if "ssim" in record:
        base = record.get("baselines", {}).get("warp", {})
        return (f"SSIM {record['ssim']:.4f} PSNR {record['psnr']:.2f} dB "
                f"(training-free warp: SSIM {base.get('ssim', float('nan')):.4f} "
                f"PSNR {base.get('psnr', float('nan')):.2f} dB)")
    return f"NME {record.get('nme', float('nan')):.4f}"
