"""What a moved head leaves behind: `python -m lab.uncovered PORTRAIT [PORTRAIT ...]`.

Each portrait's head is moved by `reenact_lab.eval.head_shift.MOVES` (shifts of 0.3 and 0.2
inter-ocular distances, rolls of 8 degrees) through the live loop's head-motion stage, and the
wall it uncovers along its old outline is compared with the wall beside it
(`reenact_lab.eval.head_shift.uncovered_outline`): the ghost rate, the share of that band edgier than
the wall (~0.05 or less: as clean as the wall). Printed per portrait, and the mean over the
portraits where the segmenter finds the face's person (an animal's head moves as a whole zone:
"n/a"). `--no-matte` leaves out the matte that takes the hair's loose ends and fringe into the
head (the segmenter's mask as it comes; the crown above the brows still moves whole).
`--strips DIR` writes each portrait's moved heads side by side, each under its move, to look
at (`reenact eval`'s "head moved" strip).

A portrait that cannot be read, or shows no face, is skipped with a line on stderr; if every
portrait is, that is the error (exit 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from reenact.config import load_config
from lab import each_readable

STRIP_TILE = 320  # px: each moved head's side in a --strips picture, as `reenact eval` draws it


def main(argv: list[str] | None = None) -> int:
    from reenact_lab.eval.head_shift import move_labels, sweep_uncovered
    from reenact_lab.eval.plots import sample_strip
    from reenact.pipeline.target import prepare_target

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("portraits", nargs="+", type=Path, help="target pictures")
    parser.add_argument(
        "--no-matte",
        action="store_true",
        help="the segmenter's mask as it comes, not matted (the crown still moves whole)",
    )
    parser.add_argument(
        "--strips",
        type=Path,
        default=None,
        help="write <portrait>.png, the moved heads, into this folder",
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    config = load_config(None, ["fusion.target_neutral=picture", *args.overrides])
    if args.strips is not None:
        args.strips.mkdir(parents=True, exist_ok=True)
    rates = []
    print(f"{'portrait':28s} {'ghost rate':>10s}  per move")
    targets = each_readable(args.portraits, lambda p: prepare_target(str(p), config), "uncovered")
    for path, target in targets:
        found = sweep_uncovered(target, matte=not args.no_matte)
        rate = found["ghost_rate"]
        moves = " ".join("  n/a" if not np.isfinite(r) else f"{r:.3f}" for r in found["per_move"])
        print(f"{path.stem:28s} {'n/a' if not np.isfinite(rate) else f'{rate:.3f}':>10s}  {moves}")
        if np.isfinite(rate):
            rates.append(rate)
        if args.strips is not None and found["frames"]:
            sample_strip(
                dict(zip(move_labels(), ([f] for f in found["frames"]))),
                args.strips / f"{path.stem}.png",
                tile=STRIP_TILE,
            )
    mean = f"{np.mean(rates):.3f}" if rates else "n/a"
    print(f"{'mean':28s} {mean:>10s}  over {len(rates)} portrait(s) with a person")
    return 0


if __name__ == "__main__":
    from lab import run_tool

    run_tool(main, "uncovered")
