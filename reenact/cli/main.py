"""The `reenact` command: parses arguments and calls the layers below. Thin on purpose."""

from __future__ import annotations

import argparse
import importlib
import sys

from reenact import __version__
from reenact.errors import ReenactError
from reenact.image_header import fence_opencv
from reenact.log import configure as configure_logging, verbosity
from reenact.stopping import exit_code, how_stopped, stop_signals_handled

# Each module registers its sub-commands; imported here, heavy libraries only when a command runs.
COMMAND_MODULES = (
    "reenact.cli.run_cmd",
    "reenact.cli.plugins_cmd",
    "reenact.cli.preset_cmd",
    "reenact.cli.pixel_rr_cmd",
    "reenact.cli.paths_cmd",
)
OPTIONAL_COMMAND_MODULES = (
    "reenact.cli.train_cmd",
    "reenact.cli.eval_cmd",
    "reenact.cli.bench_cmd",
    "reenact.cli.quantize_cmd",
    "reenact.cli.avatar_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reenact",
        description="Real-time facial expression reenactment: your face drives another face.",
        epilog="Start with `reenact demo`, then `reenact doctor`, then `reenact live`. "
        "Every command takes --help.",
    )
    parser.add_argument("--version", action="version", version=f"reenact {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for name in OPTIONAL_COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    fence_opencv()  # before anything loads OpenCV, which reads its pixel cap once
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    # before anything loads OpenCV or MediaPipe, whose C++ log levels are read as they load
    configure_logging(verbosity(args))
    # SIGTERM (a process manager) and SIGHUP (a closed terminal) close the output as Ctrl-C
    # does, and the handlers hold while the error or the stop is reported
    with stop_signals_handled():
        try:
            return int(args.handler(args) or 0)
        except ReenactError as exc:
            print(f"reenact: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt as exc:
            code = exit_code(exc)
            print(f"reenact: {how_stopped(code)}", file=sys.stderr)
            return code


if __name__ == "__main__":
    sys.exit(main())
