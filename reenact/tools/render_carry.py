"""How much of a *true* expression a renderer carries: `python -m reenact.tools.render_carry`.

For each Yale subject given, the renderer gets the subject's `NN_normal.png` as its target and
is driven by the MediaPipe landmarks of the subject's own expression stills (`NN_happy.png`,
`NN_sad.png`, ...), i.e. by perfectly fused landmarks: no fuser is involved. The rendered crop
is re-tracked (static mode, as `reenact eval` does) and its six expression features
(`reenact.landmarks.expressiveness`, each over its region's size on the neutral face) are
regressed on the driving landmarks' features. A slope of 1.0 means the renderer shows all of the
expression it was asked for; `reenact eval`'s cross-identity `expression_gain` can be no higher
than this times the fuser's own gain. `--scale k` drives with `L_n + k * (L_e - L_n)` instead
(a renderer that is linear keeps its slope).

Use subjects kept out of `reenact eval --stills` (14, 15) only if you want those people.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

CONDITIONS = ("happy", "sad", "sleepy", "surprised", "wink")


def carry(renderer, tracker, pairs, *, scale: float = 1.0) -> dict[str, float]:
    """Slope of the re-tracked features on the driving features, per feature.

    renderer: `set_target(crop (S,S,3) uint8, landmarks (478,3))`, `render(landmarks) -> crop`;
    tracker: `track_one(image) -> (478,3) pixels | None`; pairs: [(neutral crop, neutral
    landmarks (478,3), [expression landmarks (478,3), ...])] in the same crop pixels.
    Returns {feature: slope} (NaN where the drive did not move the feature) and "frames".
    """
    from reenact.landmarks.expressiveness import FEATURES, relative  # noqa: PLC0415

    asked, seen = [], []
    for crop, neutral, expressions in pairs:
        renderer.set_target(crop, neutral)
        for landmarks in expressions:
            drive = neutral + np.float32(scale) * (landmarks - neutral)
            found = tracker.track_one(np.array(renderer.render(drive), copy=True))
            if found is None:
                continue
            asked.append(relative(drive[None], neutral)[0])
            seen.append(relative(np.asarray(found, np.float32)[None], neutral)[0])
    a, o = np.array(asked).reshape(-1, len(FEATURES)), np.array(seen).reshape(-1, len(FEATURES))
    out: dict[str, float] = {"frames": float(len(a))}
    for i, name in enumerate(FEATURES):
        da = a[:, i] - a[:, i].mean() if len(a) else a[:, i]
        spread = float(np.dot(da, da))
        out[name] = float(np.dot(da, o[:, i] - o[:, i].mean()) / spread) if spread > 1e-9 \
            else float("nan")
    return out


def _pairs(folder: Path, subjects: list[str], config) -> list:
    from reenact.eval.stills import _aligned  # noqa: PLC0415

    pairs = []
    for subject in subjects:
        crop, neutral = _aligned(folder / f"{subject}_normal.png", config)
        stills = [folder / f"{subject}_{c}.png" for c in CONDITIONS]
        pairs.append((crop, neutral, [_aligned(p, config)[1] for p in stills if p.exists()]))
    return pairs


def main(argv: list[str] | None = None) -> int:
    from reenact.config import load_config  # noqa: PLC0415
    from reenact.eval.renderers import build_eval_renderers  # noqa: PLC0415
    from reenact.landmarks.tracker import FaceTracker  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    media = Path(__file__).resolve().parents[2].parent / "shared" / "media" / "expressions"
    parser.add_argument("--stills", type=Path, default=media, help="Yale folder (NN_<cond>.png)")
    parser.add_argument("--subjects", nargs="+",
                        default=[f"{i:02d}" for i in range(1, 12)])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    config = load_config(None, args.overrides)
    pairs = _pairs(args.stills, args.subjects, config)
    with FaceTracker(config.tracker, static=True) as tracker:
        for item in build_eval_renderers(config, []):
            row = carry(item.renderer, tracker, pairs, scale=args.scale)
            frames = int(row.pop("frames"))
            print(f"{item.name:18s} " + " ".join(f"{k} {v:.2f}" for k, v in row.items())
                  + f"  mean {np.nanmean(list(row.values())):.2f} ({frames} stills)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
