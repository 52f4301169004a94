"""`reenact avatar train`: a personal avatar (NAME.avatar) from videos of one person."""

from __future__ import annotations

import argparse
import sys

from reenact.cli.common import add_config_options


def register(sub: argparse._SubParsersAction) -> None:
    avatar = sub.add_parser(
        "avatar",
        help="make a personal avatar from videos of one face",
        description="Personal avatars: the shipped generator fine-tuned on one person's video.",
    )
    tasks = avatar.add_subparsers(dest="avatar_task", metavar="TASK", required=True)
    train = tasks.add_parser(
        "train",
        help="fine-tune the generator on videos of one person -> NAME.avatar",
        description="Tracks the clips (one person), holds out the last fifth of each for "
        "validation, fine-tunes the shipped generator on the rest within --minutes (tracking "
        "included), keeps the best validated step averaged with the shipped weights and writes "
        "NAME.avatar (picture, neutral, generator, manifest). Ctrl-C keeps the best so far. Record 30-60 s: talking, smiling "
        "with teeth, mouth wide open, blinks, brows up and down, a slow head turn.",
        epilog="example: reenact avatar train me1.mp4 me2.mp4 --out me.avatar --minutes 10 | "
        "on a GPU machine: reenact avatar train me.mp4 --prepare-only prep/ here, then "
        "reenact avatar train --from-prepared prep/ --out me.avatar --device cuda --minutes 1",
    )
    _train_options(train)
    add_config_options(train)
    train.set_defaults(handler=cmd_avatar_train)


def _train_options(train: argparse.ArgumentParser) -> None:
    train.add_argument("videos", nargs="*", metavar="VIDEO", help="clips of the person")
    train.add_argument("--out", metavar="NAME.avatar", help="the avatar file to write")
    train.add_argument(
        "--minutes",
        type=float,
        default=10.0,
        metavar="M",
        help="time budget, tracking included (default 10)",
    )
    train.add_argument(
        "--device",
        choices=["cpu", "cuda", "auto"],
        default="auto",
        help="where to train (default auto: cuda when present, else the cpu)",
    )
    train.add_argument(
        "--picture",
        metavar="PATH",
        default="",
        help="the avatar's picture (default: the first clip's most neutral frame)",
    )
    train.add_argument(
        "--prepare-only",
        metavar="DIR",
        default="",
        help="track and write the compact prepared data to DIR, then stop",
    )
    train.add_argument(
        "--from-prepared",
        metavar="DIR",
        default="",
        help="train from a folder --prepare-only wrote (no tracking: no MediaPipe)",
    )
    train.add_argument(
        "--report",
        metavar="JSON",
        default="",
        help="also write the timings and validation scores as JSON",
    )
    # an experiment (docs/experiments/2026-11-27-avatar-training.md): the picture alone trains,
    # the clips only validate
    train.add_argument("--still", action="store_true", help=argparse.SUPPRESS)
    train.add_argument("--max-steps", type=int, default=0, help=argparse.SUPPRESS)
    train.add_argument("--batch-size", type=int, default=0, help=argparse.SUPPRESS)


def cmd_avatar_train(args: argparse.Namespace) -> int:
    from reenact.log import progress_shown
    from reenact_lab.train.avatar_train import AvatarJob, summary_lines, train_avatar

    def config():
        from reenact.config import load_config

        return load_config(args.config, args.overrides)

    job = AvatarJob(
        videos=list(args.videos),
        out=args.out or "",
        minutes=args.minutes,
        device=args.device,
        picture=args.picture,
        prepare_only=args.prepare_only,
        from_prepared=args.from_prepared,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        progress=progress_shown(),
        still=args.still,
        report=args.report,
    )
    summary = train_avatar(job, config)
    for line in summary_lines(summary):
        print(line)
    for note in summary.get("notes", []):
        if not note.startswith("range:"):
            print(f"note: {note}", file=sys.stderr)
    if args.report:
        print(f"report: {args.report}")
    return 0
