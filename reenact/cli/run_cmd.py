"""`reenact run`, `reenact live` and `reenact demo`."""

from __future__ import annotations

import argparse
import logging
import sys

from reenact.cli.common import (
    SINK_HELP,
    SOURCE_HELP,
    add_config_options,
    add_pipeline_options,
    config_from_args,
    preset_path,
)
from reenact.config import Config

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run",
        help="offline: a video or image drives a target, into a file or other sink",
        description="Drive a target portrait with the expressions in a video (or a still), "
        "frame by frame, and write the result to a sink. Every source frame gives one output "
        "frame.",
        epilog="example: reenact run --source video:me.mp4 --target portrait.jpg "
        "--sink file:out/me_as_portrait.mp4",
    )
    run.add_argument("--source", "-s", required=True, metavar="SPEC", help=SOURCE_HELP)
    run.add_argument("--sink", "-o", default="file:out/reenact.mp4", metavar="SPEC", help=SINK_HELP)
    add_pipeline_options(run)
    add_config_options(run)
    run.set_defaults(handler=cmd_run)

    live = sub.add_parser(
        "live",
        help="webcam -> virtual camera, UDP stream or preview window",
        description="Live: your webcam drives the target, sent to a virtual camera (OBS, Zoom, "
        "Discord), an MPEG-TS stream over UDP (OBS Media Source) or a preview window. Look at "
        "the camera with a neutral face for the first second: that is your calibration.",
        epilog="examples: reenact live --sink virtualcam | reenact live --sink stream "
        "| reenact live --sink window --target portrait.jpg",
    )
    live.add_argument("--source", "-s", default=None, metavar="SPEC", help=SOURCE_HELP)
    live.add_argument("--sink", "-o", default=None, metavar="SPEC", help=SINK_HELP)
    add_pipeline_options(live)
    add_config_options(live, preset="live")
    live.set_defaults(handler=cmd_live)

    demo = sub.add_parser(
        "demo",
        help="no camera needed: a scripted expression drives the built-in portrait",
        description="Drives a target (default: scikit-image's public-domain astronaut "
        "portrait) through a scripted expression track (smile, mouth open, blink, brows up, "
        "wink) and writes a video and a contact-sheet PNG.",
    )
    demo.add_argument("--output", default="out/demo.mp4", metavar="FILE", help="video to write")
    add_pipeline_options(demo)
    add_config_options(demo)
    demo.set_defaults(handler=cmd_demo)


def _config(
    args: argparse.Namespace,
    stem: str,
    *,
    named_after_output: bool = True,
    kept_settings: bool = False,
    **base,
) -> Config:
    """The run's config, once no file it would write (its output, `stem`.config.yaml and
    .timing.json beside it) is one of its inputs or its preset."""
    from reenact.pipeline.outputs import check_run_files

    config = config_from_args(args, kept_settings=kept_settings, **base)
    check_run_files(
        config, stem=stem, named_after_output=named_after_output, preset=preset_path(args)
    )
    return config


def _report(config: Config, report, stem: str) -> None:
    from reenact.stopping import how_stopped
    from reenact.stream.session import write_run_files

    write_run_files(config, report, stem)
    if log.isEnabledFor(logging.INFO):  # the timings are a status, which -q leaves out
        print(report.timer.table(), file=sys.stderr)
    if report.frames_with_face == 0 and report.frames_without_face > 0:
        source = config.source.options.get("path") or f"the {config.source.kind} source"
        print(
            f"reenact: warning: no face was found in any of the {report.frames_without_face} "
            f"frames of {source}; the output shows the target without its expressions",
            file=sys.stderr,
        )
    if report.loop.interrupted:
        log.info("%s; output closed cleanly", how_stopped(report.loop.stop_code))


def cmd_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from reenact.stream.session import run_session

    config = _config(args, "run", kept_settings=True)
    if config.panel.enabled and is_live_paced(config):  # a camera, or a file paced like one
        from reenact.stream.live import run_live

        report = run_live(config, preview=False)
    else:
        report = run_session(config)
    written = report.output_path
    _report(config, report, Path(written).stem if written else "run")
    if written:
        print(f"wrote {written} ({report.loop.frames_out} frames)")
    return report.loop.stop_code


def is_live_paced(config: Config) -> bool:
    """A camera, or a file paced like one (`source.realtime`)."""
    return config.source.kind == "webcam" or bool(config.source.options.get("realtime"))


def cmd_live(args: argparse.Namespace) -> int:
    from reenact.stream.live import run_live

    # a video file in place of the camera plays in a loop, paced like a camera
    config = _config(
        args,
        "live",
        named_after_output=False,
        kept_settings=True,
        source__kind="webcam",
        source__loop=True,
        source__realtime=True,
    )
    _old_folders_hint()
    report = run_live(config)
    _report(config, report, "live")
    return report.loop.stop_code  # 130 / 143 / 129 when stopped, as `reenact run`


def _old_folders_hint() -> None:
    """One line naming ./out/targets and ./presets of an earlier version, and how to move them."""
    from pathlib import Path

    from reenact.stream.old_folders import hint

    found = hint(Path.cwd())
    if found:
        log.info(found)


def cmd_demo(args: argparse.Namespace) -> int:
    from reenact.stream.demo import run_demo

    config = _config(args, "demo", sink__kind="file", sink__path=args.output)
    video, sheet = run_demo(config)
    print(f"wrote {video} and {sheet}")
    return 0
