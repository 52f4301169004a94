"""How much of a *true* expression a renderer carries: `python -m lab.render_carry`.

For each subject given (stills named `NN_<condition>.png`), the renderer gets the subject's
`NN_normal.png` as its target and
is driven by the MediaPipe landmarks of the subject's own expression stills (`NN_happy.png`,
`NN_sad.png`, ...), i.e. by perfectly fused landmarks: no fuser is involved. The rendered crop
is re-tracked (static mode, as `reenact eval` does) and its six expression features
(`reenact.landmarks.expressiveness`, each over its region's size on the neutral face) are
regressed on the driving landmarks' features. A slope of 1.0 means the renderer shows all of the
expression it was asked for; `reenact eval`'s cross-identity `expression_gain` can be no higher
than this times the fuser's own gain. `--scale k` drives with `L_n + k * (L_e - L_n)` instead
(a renderer that is linear keeps its slope). The mouth corners' rise (`smile_lift`, the eval's
smile row) is printed after the six features' mean, not in it, and so are the eyes' closing and
widening apart (`eyes_closing`, `eyes_widening`: both eyes' read change over the asked one,
through zero, over the stills / frames asked to close or to widen by more than EYE_MOVE of the
eye's neutral size): a tracker reads a drawn closing far better than a drawn widening, which
the eyes' one slope hides.

Use subjects kept out of `reenact eval --stills` (14, 15) only if you want those people.

`--prepared DIR` drives by real video instead: each prepared clip's (`reenact prepare`) reference
frame is the target, driven by its other frames (every `--step`-th), the real frames' own
landmarks tracked the same way as the output (static mode, in the crop), so a slope of 1.0 means
the drawing reads as the real face did. `--clips` picks clips by name; `--skip` leaves some out
(the held-out ones, when calibrating). The renderer draws what the live loop would: the drive
through the config's `renderer.boost` (`--set renderer.boost.mouth_width=1
--set renderer.boost.brows=1` draws it plain).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from reenact.config import load_config
from reenact.errors import InputError
from reenact.landmarks.expressiveness import FEATURES, relative
from reenact_lab.metrics.expression import MIN_ACTOR_STD, smile_lift
from reenact_lab.metrics.series import gain_sides
from reenact.render.boost import ExpressionBoost
from reenact_lab.train.cache import read_entry

CONDITIONS = ("happy", "sad", "sleepy", "surprised", "wink")
EYE_MOVE = 0.03  # an eye asked to change by more than this (of its neutral size) closes / widens


def carry(renderer, tracker, pairs, *, scale: float = 1.0, boost=None) -> dict[str, float]:
    """Slope of the re-tracked features on the driving features, per feature.

    renderer: `set_target(crop (S,S,3) uint8, landmarks (478,3))`, `render(landmarks) -> crop`;
    tracker: `track_one(image) -> (478,3) pixels | None`; pairs: [(neutral crop, neutral
    landmarks (478,3), [expression landmarks (478,3), ...])] in the same crop pixels; boost: an
    `ExpressionBoost` the drive is drawn through (None = drawn as it is; the slope is always
    on the drive itself).
    Returns {feature: slope} (NaN where the drive did not move the feature), "smile_lift" (the
    mouth corners' rise, `reenact_lab.metrics.expression.smile_lift`, read the same way),
    "eyes_closing" / "eyes_widening" (`eye_ratios`), "frames", and "sides": {feature and
    "smile_lift": (below, above)}, each direction's slope apart (`gain_sides`, bent at the
    neutral, as `reenact eval`'s "each direction apart" table).
    """
    asked, seen = [], []
    for crop, neutral, expressions in pairs:
        renderer.set_target(crop, neutral)
        for landmarks in expressions:
            drive = neutral + np.float32(scale) * (landmarks - neutral)
            drawn = drive if boost is None else boost.apply(drive, neutral)
            found = tracker.track_one(np.array(renderer.render(drawn), copy=True))
            if found is None:
                continue
            found = np.asarray(found, np.float32)[None]
            asked.append([*relative(drive[None], neutral)[0], smile_lift(drive[None], neutral)[0]])
            seen.append([*relative(found, neutral)[0], smile_lift(found, neutral)[0]])
    names = (*FEATURES, "smile_lift")
    a, o = np.array(asked).reshape(-1, len(names)), np.array(seen).reshape(-1, len(names))
    out: dict[str, float] = {"frames": float(len(a))}
    for i, name in enumerate(names):
        da = a[:, i] - a[:, i].mean() if len(a) else a[:, i]
        spread = float(np.dot(da, da))
        out[name] = float(np.dot(da, o[:, i] - o[:, i].mean()) / spread) if spread > 1e-9 \
            else float("nan")
    eyes = [FEATURES.index("eye_left"), FEATURES.index("eye_right")]
    out.update(eye_ratios(a[:, eyes].ravel(), o[:, eyes].ravel()))
    out["sides"] = {name: gain_sides(a[:, i], o[:, i], min_actor_std=MIN_ACTOR_STD)
                    for i, name in enumerate(names)}
    return out


def eye_ratios(asked: np.ndarray, seen: np.ndarray) -> dict[str, float]:
    """Both eyes' asked and read changes, pooled -> {"eyes_closing", "eyes_widening"}: the read
    over the asked change, through zero, where the asked one is under -EYE_MOVE / over EYE_MOVE
    (NaN with fewer than 3 such)."""
    out = {}
    for name, where in (("eyes_closing", asked < -EYE_MOVE), ("eyes_widening", asked > EYE_MOVE)):
        a, o = asked[where], seen[where]
        out[name] = float(np.dot(a, o) / np.dot(a, a)) if len(a) >= 3 else float("nan")
    return out


def subject_stills(folder: Path, subjects: list[str], config) -> list:
    """Per subject: (neutral crop (S,S,3) uint8, its landmarks (478,3), [(expression
    crop, its landmarks), ...] for each of `CONDITIONS` present), each still aligned as a
    target is (`reenact_lab.eval.stills.AlignedStills`)."""
    from reenact_lab.eval.still_sets import AlignedStills

    aligned = AlignedStills(config)
    found = []
    for subject in subjects:
        crop, neutral = aligned(folder / f"{subject}_normal.png")
        stills = (folder / f"{subject}_{c}.png" for c in CONDITIONS)
        found.append((crop, neutral, [aligned(p) for p in stills if p.exists()]))
    return found


def _pairs(folder: Path, subjects: list[str], config) -> list:
    """`subject_stills` with only the expression stills' landmarks (the drive `carry` takes)."""
    return [(crop, neutral, [landmarks for _, landmarks in stills])
            for crop, neutral, stills in subject_stills(folder, subjects, config)]


def _prepared_pairs(folder: Path, clips: list[str], skip: list[str], tracker,
                    step: int) -> list:
    """(reference crop, its landmarks, [other frames' landmarks]) per prepared clip, every
    landmark tracked again in the crop by `tracker` (as the output will be)."""
    left_out = set(skip)
    names = [n for n in clips or sorted(p.stem for p in folder.glob("*.npz"))
             if n not in left_out]
    if not names:
        raise InputError(f"{folder}: no prepared clips to drive with (run `reenact prepare`)")
    pairs = []
    for name in names:
        entry = read_entry(folder / f"{name}.npz")
        if entry.kind != "clip":
            continue
        crops = entry.load_crops()
        valid = np.flatnonzero(entry.valid)
        reference = int(entry.reference) if entry.valid[entry.reference] else int(valid[0])
        neutral = tracker.track_one(crops[reference])
        if neutral is None:
            continue
        found = (tracker.track_one(crops[f]) for f in valid[::step] if f != reference)
        pairs.append((crops[reference], np.asarray(neutral, np.float32),
                      [np.asarray(f, np.float32) for f in found if f is not None]))
    return pairs


def main(argv: list[str] | None = None) -> int:
    from reenact_lab.eval.renderers import build_eval_renderers
    from reenact.landmarks.tracker import FaceTracker

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    media = Path(__file__).resolve().parents[1].parent / "shared" / "media" / "expressions"
    parser.add_argument("--stills", type=Path, default=media, help="stills folder (NN_<cond>.png)")
    parser.add_argument("--subjects", nargs="+",
                        default=[f"{i:02d}" for i in range(1, 12)])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--prepared", type=Path, default=None,
                        help="drive by the clips of this `reenact prepare` folder instead")
    parser.add_argument("--clips", nargs="*", default=[], help="with --prepared: these only")
    parser.add_argument("--skip", nargs="*", default=[], help="with --prepared: not these")
    parser.add_argument("--step", type=int, default=3, help="with --prepared: every n-th frame")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    config = load_config(None, args.overrides)
    with FaceTracker(config.tracker, static=True) as tracker:
        if args.prepared is None:
            pairs, unit = _pairs(args.stills, args.subjects, config), "stills"
        else:
            pairs = _prepared_pairs(args.prepared, args.clips, args.skip, tracker,
                                    max(1, args.step))
            unit = f"frames of {len(pairs)} clips"
        for item in build_eval_renderers(config, []):
            row = carry(item.renderer, tracker, pairs, scale=args.scale,
                        boost=ExpressionBoost.from_config(config, item.renderer))
            frames, lift = int(row.pop("frames")), row.pop("smile_lift")
            closing, widening = row.pop("eyes_closing"), row.pop("eyes_widening")
            sides = row.pop("sides")
            print(f"{item.name:18s} " + " ".join(f"{k} {v:.2f}" for k, v in row.items())
                  + f"  mean {np.nanmean(list(row.values())):.2f}  smile_lift {lift:.2f}"
                  + f"  eyes closing {closing:.2f} widening {widening:.2f} ({frames} {unit})")
            print(f"{'':18s} below / above: " + " ".join(
                f"{k} {b:.2f} / {a:.2f}" for k, (b, a) in sides.items()))
    return 0


if __name__ == "__main__":
    from lab import run_tool

    run_tool(main, "render_carry")
