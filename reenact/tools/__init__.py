"""Tools beside the live loop: bench, soak, replay, panel_load, and the drawing diagnostics
(drawn_moves, render_carry, eye_cues, shut_eyes)."""

from __future__ import annotations

import sys
from collections.abc import Callable


def run_tool(main: Callable[[], int], name: str) -> None:
    """Run a tool's `main()` as its `python -m` entry point: its exit status, or bad input (a
    `ReenactError`: a missing file, no face, a bad key) as one line on stderr and exit 2."""
    from reenact.errors import ReenactError  # noqa: PLC0415

    try:
        sys.exit(main())
    except ReenactError as error:
        print(f"{name}: {error}", file=sys.stderr)
        sys.exit(2)
