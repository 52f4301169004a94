"""User-facing errors: one line that names the file, device or key, and what to do next."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable


class ReenactError(Exception):
    """An error meant for a person. The CLI prints `reenact: <message>` and exits non-zero."""

    exit_code = 2


class ConfigError(ReenactError):
    """A config file or override names an unknown key or has a value of the wrong type."""


class InputError(ReenactError):
    """An input file, image or video cannot be used (missing, unreadable, no face, ...)."""


class DeviceError(ReenactError):
    """A camera, virtual camera or other device cannot be opened."""


class WeightsError(ReenactError):
    """A weights file is missing, truncated, pickled, or from another architecture."""


def one_line_errors(run: Callable[[list[str] | None], int]) -> Callable[..., int]:
    """A `python -m` job's `main(argv)`: a `ReenactError` (a missing cache, a malformed file)
    becomes `error: <message>` on stderr and exit status 2 instead of a traceback."""

    @functools.wraps(run)
    def main(argv: list[str] | None = None) -> int:
        try:
            return run(argv)
        except ReenactError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code

    return main
