"""Whether a move the renderer draws is read back: `python -m lab.drawn_moves P ...`.

The moves and their reading are `reenact_lab.eval.move_sweep`'s, which `reenact eval` runs on its
own portraits (report table "Drawn moves read back"); this tool runs them on any portrait, on
turned heads too, and writes the drawings out.

`reenact eval`'s cross-identity `expression_gain` re-tracks each output (MediaPipe, static mode,
an open mouth tracked again) and regresses the re-tracked features on the driver's. A move the
renderer draws but the tracker does not read back costs that gain, though a viewer may still
see it; this tool tells the two apart on any portrait, one region at a time.

Each portrait's face at rest is moved by one synthetic move at a time. The rest is the face the
live loop draws while the actor rests (`reenact_lab.eval.carried_rows.output_neutral`): the
picture's own landmarks, found as `reenact run` finds a target's, or its estimated neutral
where the picture wears an expression (`fusion.target_neutral`: a yawn closed, a grin taken
out). `reenact eval`'s table starts from the same rest, so the tool reads what the table reads.
`--from picture` starts from the picture's landmarks as they are.

The moves:

- `eyes`: both upper lids, by the amount times the eye's width along the lid (most at its
  middle); negative closes the eye (never past the lower lid), positive widens it;
- `brows`: both brows' points up by the amount times that side's neutral brow height (the brow's
  upper line to the eye's corners, as the brow feature reads it), negative lowers them;
- `jaw`: the lower inner lip and all of the face below it down by the amount times the mouth's
  width (the jaw dropping), fading out sideways beyond the mouth corners; negative closes an open
  mouth (never past the upper lip);
- `smile`: the mouth corners pulled apart, each by half the amount times the mouth's width, the
  lips between them stretched evenly and the cheeks beside them following, fading out above and
  below the mouth and a mouth width beyond each corner (a smile's widening, without its lift);
  negative narrows the mouth as a pout does.

The renderer draws the picture with them, the drawing is re-tracked as `reenact eval` re-tracks
its outputs, and per move the tool prints the change asked of the region's features
(`reenact.landmarks.expressiveness`, the two sides averaged; mouth_open for the jaw,
mouth_width for the smile) and the change read back, both against the undrawn rest's own
reading, and their ratio (1.0: read as drawn). `--out DIR` writes each drawing, to look at.

`--turn PITCH,YAW` (degrees, repeatable) draws every move, and the unmoved neutral it is read
against, on the head turned as the live loop turns it (`head.motion`:
`reenact.pipeline.head_motion.HeadPose.turn` about `turn_centre`), and reads them with the head's
pose undone, as `reenact eval` reads a turned output (`reenact_lab.metrics.expression
.relative_features`): how much of a move survives the drawn turn.

What it has shown (the figures are in docs/experiments/2026-11-27-constants-provenance-lab.md):
a shut eye reads back about as drawn and a widened one far short, though the drawing shows the
white above the iris (`tests/unit/test_wide_eyes.py`, `tests/unit/test_widened_lids.py`): the
face mesh puts the lid at the iris's top. The tracker reads a closed mouth's widening short and
barely reads a round open mouth's corners move apart. The lower inner lip drops with the jaw by
construction, not by its height, since on a closed mouth it lies on the upper one; a painted
opening reads larger than drawn, not smaller.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from reenact.config import load_config
from reenact_lab.eval.files import atomic_write_png
from reenact_lab.eval.move_sweep import read_moves
from reenact_lab.eval.renderers import build_eval_renderers, chosen_renderers
from reenact.landmarks.tracker import FaceTracker
from lab import parse_turn


def main(argv: list[str] | None = None) -> int:
    from reenact_lab.eval.carried_rows import output_neutral
    from reenact_lab.eval.drive import retrack_output
    from reenact.pipeline.target import prepare_target

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("portraits", nargs="+", help="target pictures")
    parser.add_argument("--renderers", nargs="*", default=[],
                        help="of identity, warp, generator:shipped (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="write each drawing here (PNG)")
    parser.add_argument("--turn", action="append", default=[],
                        help="PITCH,YAW degrees: draw on the head turned so (repeatable)")
    parser.add_argument("--from", dest="start", choices=("rest", "picture"), default="rest",
                        help="draw the moves from the face at rest, as the live loop and "
                             "reenact eval do (default), or from the picture's own landmarks")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    turns = [parse_turn(text) for text in args.turn] or [(0.0, 0.0)]
    config = load_config(None, args.overrides)
    renderers = chosen_renderers(
        {r.name: r.renderer for r in build_eval_renderers(config, [])}, args.renderers)
    targets = [(Path(p).stem, prepare_target(p, config)) for p in args.portraits]
    with FaceTracker(config.tracker, static=True) as tracker:
        def reader(image: np.ndarray):
            return retrack_output(tracker, image, config)

        print(f"{'portrait':22s} {'renderer':18s} {'turn':>11s} {'move':6s} {'amount':>6s} "
              f"{'asked':>7s} {'read':>7s} {'ratio':>6s}")
        for name, target in targets:
            rest = output_neutral(target) if args.start == "rest" else None
            for rname, renderer in renderers.items():
                for turn in turns:
                    drawings: dict = {}
                    for r in read_moves(renderer, reader, target.crop,
                                        target.landmarks_crop, turn=turn, rest=rest,
                                        drawings=drawings if args.out else None):
                        print(f"{name:22s} {rname:18s} {turn[0]:+5.0f},{turn[1]:+5.0f} "
                              f"{r.move:6s} {r.amount:6.2f} {r.asked:7.3f} {r.read:7.3f} "
                              f"{r.ratio:6.2f}")
                    if args.out:
                        label = rname if turn == (0.0, 0.0) else (
                            f"{rname}_turn{turn[0]:+.0f}{turn[1]:+.0f}")
                        _write(args.out, name, label, drawings)
    return 0


def _write(folder: Path, portrait: str, renderer: str, drawings: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    label = renderer.replace(":", "_")
    for (move, amount), image in drawings.items():
        atomic_write_png(folder / f"{portrait}_{label}_{move}_{amount:+.2f}.png", image)


if __name__ == "__main__":
    from lab import run_tool

    run_tool(main, "drawn_moves")
