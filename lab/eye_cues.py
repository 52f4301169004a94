"""Where the tracker reads an eye's opening: `python -m lab.eye_cues`.

`reenact eval`'s expression gain re-tracks each output, and a drawn widening reads short: the
warp's drawing of a subject's own wide-eyed stills reads less of the widening asked than the real
stills do (`render_carry`'s `eyes_widening`, below). This tool asks which pixels the
tracker reads it from. Each subject's neutral still (`NN_normal.png`) is drawn at the landmarks
of each of their expression stills, as `render_carry` draws it, and the real expression still's
own pixels (aligned the same way, so at the same landmarks) are then pasted over the drawing in
growing regions around both eyes (`REGIONS`, feathered):

    drawn      the drawing alone
    opening    + the eye openings (the lids' margins, the eyeball)
    lid        + the lid's skin up to its fold
    brow       + up to the brow
    real       the real still itself

Each row is re-tracked (static mode, as `reenact eval` re-tracks its outputs) and read as
`render_carry` reads it: both eyes' read change over the asked one (the still's own landmarks
against the neutral's), through zero, for the eyes asked to close and those asked to widen by
more than `EYE_MOVE` of their size. A region whose paste takes the widening from the drawing's
read to the real one's is where the drawing lacks what the tracker reads. The `identity`
renderer (the unchanged neutral) is the paste's own share: what the real pixels carry into an
undrawn face.

What the warp's drawing misses lies partly inside the opening and mostly in the skin above it,
up to the brow, which a warp of the neutral face can only stretch: a real widened lid slides up
under its fold, and surprise lifts the brow's skin with it (the figures are in
docs/experiments/2026-11-27-constants-provenance-lab.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from reenact.config import load_config
from reenact_lab.eval.renderers import build_eval_renderers
from reenact.landmarks.expressiveness import FEATURES, relative
from reenact.landmarks.head_pose import EYE_RINGS
from reenact.landmarks.tracker import FaceTracker
from lab.render_carry import EYE_MOVE, eye_ratios, subject_stills

# pasted regions: name, then each eye ring's box grown by these shares of the eye's width
# (sideways, up, down); each region holds the one before it
REGIONS = (("opening", 0.10, 0.08, 0.08), ("lid", 0.15, 0.45, 0.10), ("brow", 0.20, 0.90, 0.10))
ROWS = ("drawn", *(name for name, *_ in REGIONS), "real")
FEATHER = 1.5  # the paste's edge, Gaussian sigma in pixels at 256


def paste_weight(landmarks: np.ndarray, grow: tuple[float, float, float], size: int) -> np.ndarray:
    """(S,S,1) float32 in [0,1]: 1 over both eye rings' boxes grown by `grow` (shares of each
    eye's width: sideways, up, down) at the (478,2|3) crop pixels `landmarks`, feathered."""
    weight = np.zeros((size, size), np.float32)
    sideways, up, down = grow
    points = np.asarray(landmarks, np.float32)
    for ring in EYE_RINGS:
        xy = points[ring, :2]
        (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
        width = x1 - x0
        x0, x1 = int(x0 - sideways * width), int(np.ceil(x1 + sideways * width))
        y0, y1 = int(y0 - up * width), int(np.ceil(y1 + down * width))
        weight[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = 1.0
    sigma = FEATHER * size / 256.0
    return cv2.GaussianBlur(weight, (0, 0), sigma)[..., None]


def rows_of(drawn: np.ndarray, real: np.ndarray, landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """The pictures to re-track: `ROWS` name -> (S,S,3) uint8. drawn, real: (S,S,3) uint8 crops
    of the same face geometry, `landmarks` (478,2|3) the real one's."""
    size = drawn.shape[0]
    base, donor = drawn.astype(np.float32), real.astype(np.float32)
    out = {"drawn": drawn}
    for name, *grow in REGIONS:
        weight = paste_weight(landmarks, tuple(grow), size)
        out[name] = np.clip(base + weight * (donor - base) + 0.5, 0, 255).astype(np.uint8)
    out["real"] = real
    return out


def cues(renderers: dict, tracker, subjects) -> dict[str, dict[str, dict[str, float]]]:
    """Per renderer name, per row of `ROWS`: {"eyes_closing", "eyes_widening"}
    (`render_carry.eye_ratios`) and "eyes" (how many eye readings went into the widening).

    renderers: {name: renderer}, each with `set_target(crop, landmarks)` and `render(landmarks)
    -> crop`; tracker: `track_one(image) -> (478,3) | None`; subjects: [(neutral crop (S,S,3)
    uint8, its landmarks (478,3), [(expression crop, its landmarks), ...])], all aligned to the
    same crop size. The real stills (the `real` row) are re-tracked once, whatever draws them.
    A still whose drawing or any of whose rows finds no face is left out of that renderer's rows.
    """
    eyes = [FEATURES.index("eye_left"), FEATURES.index("eye_right")]
    asked = {name: [] for name in renderers}
    seen = {name: {row: [] for row in ROWS} for name in renderers}
    for crop, neutral, stills in subjects:
        reals = [tracker.track_one(real) for real, _ in stills]
        for name, renderer in renderers.items():
            renderer.set_target(crop, neutral)
            for (real, landmarks), real_read in zip(stills, reals):
                drawn = np.array(renderer.render(landmarks), copy=True)
                found = {
                    row: tracker.track_one(image)
                    for row, image in rows_of(drawn, real, landmarks).items()
                    if row != "real"
                } | {"real": real_read}
                if any(f is None for f in found.values()):
                    continue
                asked[name].append(relative(landmarks[None], neutral)[0][eyes])
                for row, f in found.items():
                    seen[name][row].append(
                        relative(np.asarray(f, np.float32)[None], neutral)[0][eyes]
                    )
    out = {}
    for name in renderers:
        a = np.ravel(asked[name])
        out[name] = {
            row: eye_ratios(a, np.ravel(seen[name][row])) | {"eyes": float(np.sum(a > EYE_MOVE))}
            for row in ROWS
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    media = Path(__file__).resolve().parents[1].parent / "shared" / "media" / "expressions"
    parser.add_argument("--stills", type=Path, default=media, help="stills folder (NN_<cond>.png)")
    parser.add_argument("--subjects", nargs="+", default=[f"{i:02d}" for i in range(1, 14)])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    config = load_config(None, args.overrides)
    subjects = subject_stills(args.stills, args.subjects, config)
    with FaceTracker(config.tracker, static=True) as tracker:
        print(f"{'renderer':18s} {'row':8s} {'closing':>8s} {'widening':>9s}")
        renderers = {item.name: item.renderer for item in build_eval_renderers(config, [])}
        for name, rows in cues(renderers, tracker, subjects).items():
            for row, read in rows.items():
                print(
                    f"{name:18s} {row:8s} {read['eyes_closing']:8.2f}"
                    f" {read['eyes_widening']:9.2f}  ({int(read['eyes'])} eyes widening)"
                )
    return 0


if __name__ == "__main__":
    from lab import run_tool

    run_tool(main, "eye_cues")
