"""Whether a move the renderer draws is read back: `python -m reenact.tools.drawn_moves P ...`.

The moves and their reading are `reenact.eval.move_sweep`'s, which `reenact eval` runs on its
own portraits (report table "Drawn moves read back"); this tool runs them on any portrait, on
turned heads too, and writes the drawings out.

`reenact eval`'s cross-identity `expression_gain` re-tracks each output (MediaPipe, static mode,
an open mouth tracked again) and regresses the re-tracked features on the driver's. A move the
renderer draws but the tracker does not read back costs that gain, though a viewer may still
see it; this tool tells the two apart on any portrait, one region at a time.

Each portrait's face at rest is moved by one synthetic move at a time. The rest is the face the
live loop draws while the actor rests (`reenact.eval.carried_rows.output_neutral`): the
picture's own landmarks, found as `reenact run` finds a target's, or its estimated neutral
where the picture wears an expression (`fusion.target_neutral`: a yawn closed, a grin taken
out). `reenact eval`'s table starts from the same rest, so the tool reads what the table reads.
`--from picture` starts from the picture's landmarks as they are, as the tool did until stop 82;
the figures below measured on lp_drv_d19 before then are from its yawning picture (from its rest,
the warp's brows lowered by 0.1 read back 0.33 of what was asked, against 0.68 from the
picture).

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
against, on the head turned as the live loop turns it (`stream.head_motion`:
`reenact.pipeline.head_motion.HeadPose.turn` about `turn_centre`), and reads them with the head's
pose undone, as `reenact eval` reads a turned output (`reenact.metrics.expression
.relative_features`): how much of a move survives the drawn turn.

Measured when written (warp, `python -m reenact.tools.drawn_moves
../shared/media/portraits/sadtalker_people_0.png --renderers warp`): eyes -0.2 asked -0.197,
read -0.19; eyes +0.2 asked 0.197, read 0.02, though the drawing shows the white above the iris
(`tests/unit/test_wide_eyes.py`).
Since stop 67 a raised lid keeps its lash line and the bared iris its round top
(`tests/unit/test_widened_lids.py`); the face mesh still puts the lid at the iris's top: eyes
+0.1 / +0.2 read 0.19 / 0.17 of what was asked (0.22 / 0.08 before), lp_s3 0.10 / 0.18 (0.05 /
0.08).

The smile, added in stop 52 (warp / generator:shipped; the same command with lp_drv_d19.jpg as
well): on sadtalker_people_0 (a closed mouth) +0.1 reads 0.73 / 0.80 of what was asked, +0.2
0.88 / 0.85, -0.1 0.93 / 1.06; on lp_drv_d19 (yawning) +0.1 reads -0.23 / -0.16, +0.2 0.53 /
0.54, -0.1 1.02 / 0.96. The drawings show the wider mouth: the tracker reads a closed mouth's
widening short, and barely reads a round open mouth's corners move apart.

On the yawning lp_drv_d19 the jaw read backwards until stop 68 (warp, -0.1 / +0.1 / +0.2 /
+0.3: -0.065 / -0.006 / -0.051 / -0.130), the eval's open-mouth re-track's fault
(`reenact.landmarks.open_mouth`, squashed too little and switched); since, -0.107 / 0.057 / 0.216
/ 0.302 (generator -0.099 / 0.088 / 0.229 / 0.329).

The jaw on shut lips (stop 54): the lower inner lip drops with the jaw by construction, not by
its height, since on a closed mouth it lies on the upper one; before, lp_s0's and lp_drv_d30's
jaw moves asked an opening of 0.000-0.057 for 0.1-0.3. Now they ask what they say and the warp's
drawing reads back 1.11-1.39 of it (the generator's 1.13-1.44; warp / generator on
sadtalker_people_0 1.23-1.60 / 1.21-1.61, on lp_drv_d12 1.27-1.40 / 1.19-1.60): a painted
opening reads larger than drawn, not smaller.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from reenact.eval.move_sweep import read_moves


def main(argv: list[str] | None = None) -> int:
    from reenact.config import load_config  # noqa: PLC0415
    from reenact.eval.renderers import build_eval_renderers, chosen_renderers  # noqa: PLC0415
    from reenact.eval.carried_rows import output_neutral  # noqa: PLC0415
    from reenact.eval.cross_reenact import retrack_output  # noqa: PLC0415
    from reenact.landmarks.tracker import FaceTracker  # noqa: PLC0415
    from reenact.pipeline.target import prepare_target  # noqa: PLC0415

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
    turns = [_turn(text) for text in args.turn] or [(0.0, 0.0)]
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


def _turn(text: str) -> tuple[float, float]:
    """'PITCH,YAW' degrees -> (pitch, yaw); anything else is an InputError naming it."""
    from reenact.errors import InputError  # noqa: PLC0415

    parts = text.split(",")
    try:
        if len(parts) == 2:
            return float(parts[0]), float(parts[1])
    except ValueError:
        pass
    raise InputError(f"--turn: '{text}' is not PITCH,YAW in degrees")


def _write(folder: Path, portrait: str, renderer: str, drawings: dict) -> None:
    from reenact.eval.files import atomic_write_png  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    label = renderer.replace(":", "_")
    for (move, amount), image in drawings.items():
        atomic_write_png(folder / f"{portrait}_{label}_{move}_{amount:+.2f}.png", image)


if __name__ == "__main__":
    from reenact.tools import run_tool

    run_tool(main, "drawn_moves")
