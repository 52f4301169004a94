"""The lab beside the product: developer diagnostics, sweeps and benches, run from a checkout as
`python -m lab.<name>` and in no wheel. Each reads the runtime package `reenact`; nothing in
`reenact` imports the lab (tests/unit/test_lab_apart.py).

Diagnostics that print one measure over many inputs: `drawn_moves`, `render_carry`, `eye_cues`,
`shut_eyes`, `uncovered` (what a moved head leaves on the wall), `smoothing_sweep`,
`face_bank` (an avatar's own mouths and eyes against the drawn ones), `turned_layers` (whether a
turned head moves each pixel with the surface the picture shows). Benches:
`warp_profile`, `tracking_bench`, `fusion_bench`, `panel_load`, `target_prepare` (a moving
target's first loop). Provenance: `mirror_permutation` (how the mesh's left-right permutation
was derived). They share `run_tool` (bad input as one line, exit 2), `each_readable` (one bad
input of several skipped and said) and `parse_turn` (a `--turn PITCH,YAW`)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from reenact.errors import InputError, ReenactError

T = TypeVar("T")


def run_tool(main: Callable[[], int], name: str) -> None:
    """Run a tool's `main()` as its `python -m` entry point: its exit status, or bad input (a
    `ReenactError`: a missing file, no face, a bad key) as one line on stderr and exit 2."""
    try:
        sys.exit(main())
    except ReenactError as error:
        print(f"{name}: {error}", file=sys.stderr)
        sys.exit(2)


def each_readable(
    paths: Iterable[T], load: Callable[[T], Any], name: str
) -> Iterator[tuple[T, Any]]:
    """(path, load(path)) for each of `paths`. One bad input of several (`load` raises an
    `InputError`: unreadable, no face) is skipped with a line on stderr; a single one, or every
    one of them, is the error (raised, for `run_tool` to print)."""
    paths = list(paths)
    failed = []
    for path in paths:
        try:
            loaded = load(path)
        except InputError as error:
            if len(paths) == 1:
                raise
            failed.append(error)
            print(f"{name}: skipped: {error}", file=sys.stderr)
            continue
        yield path, loaded
    if paths and len(failed) == len(paths):
        raise failed[0]


def parse_turn(text: str) -> tuple[float, float]:
    """A `--turn` option's 'PITCH,YAW' degrees -> (pitch, yaw); anything else is an InputError
    naming it."""
    parts = text.split(",")
    try:
        if len(parts) == 2:
            return float(parts[0]), float(parts[1])
    except ValueError:
        pass
    raise InputError(f"--turn: '{text}' is not PITCH,YAW in degrees")
