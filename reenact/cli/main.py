"""The `reenact` command: parses arguments and calls the layers below. Thin on purpose."""

from __future__ import annotations

import argparse
import importlib
import sys
from functools import partial
from importlib import metadata

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
    "reenact.cli.paths_cmd",
)
OPTIONAL_COMMAND_MODULES = (
    "reenact.cli.bench_cmd",
    "reenact.cli.quantize_cmd",
)
# The lab's commands (the `reenact-lab` distribution) register through these entry points, each a
# module with `register(subparsers)`, as plugins are found.
COMMAND_GROUP = "reenact.commands"
# Each lab command and the extra that installs it; without the lab each is a stub saying so.
LAB_COMMANDS = {
    "prepare": "train",
    "train": "train",
    "eval": "eval",
    "pixel-rr": "train",
    "avatar": "train",
}


def lab_missing(command: str) -> str:
    """The one line `reenact COMMAND` says when the lab that has it is not installed."""
    extra = LAB_COMMANDS[command]
    return (
        f"reenact {command}: needs the lab, which is not installed: pip install 'reenact[{extra}]' "
        "(in a checkout: pip install -e reenact-lab)"
    )


def _lab_commands(sub: argparse._SubParsersAction) -> None:
    """Register the installed lab's commands, and a stub listed in --help for each one missing."""
    # a set: an install seen twice on sys.path (a checkout and a wheel) registers once
    for module in sorted({entry.value for entry in metadata.entry_points(group=COMMAND_GROUP)}):
        try:
            found = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # metadata left behind without its package (an uninstalled or borrowed editable
            # install): the stub below says the lab is missing
            if exc.name is None or not module.startswith(exc.name):
                raise
            continue
        found.register(sub)
    for command, extra in LAB_COMMANDS.items():
        if command in sub.choices:
            continue
        # no option prefix: every argument, --help included, is taken and answered with the line
        stub = sub.add_parser(
            command, help=f"(needs the lab: pip install 'reenact[{extra}]')", prefix_chars="\0"
        )
        stub.add_argument("ignored", nargs=argparse.REMAINDER)
        stub.set_defaults(handler=partial(_needs_lab, command))


def _needs_lab(command: str, args: argparse.Namespace) -> int:
    print(lab_missing(command), file=sys.stderr)
    return 2


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
    _lab_commands(sub)
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
