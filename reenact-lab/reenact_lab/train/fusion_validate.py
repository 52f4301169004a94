"""Landmark-level measures of a fuser on held-out people, for choosing and reporting Phi.

A fuser here is `fuse(source, source_neutral, target) -> J_gen`, batched: (B,478,3) aligned
256-crop pixels in and out. Two measures, each for the fuser and the training-free transfer:

- `nme`: labelled stills pairs (A with expression e drives B's neutral; B with e is the truth):
  mean xy distance of J_gen to the truth over the inter-ocular distance (64 px).
- `gain` / `r`: every clip person drives every other held-out person's neutral; the six
  expression features of J_gen relative to the target's neutral against the actor's relative to
  theirs (`reenact.landmarks.expressiveness.relative`: each over its region's size): the mean
  regression slope (1 = as much expression as the actor) and the mean Pearson r, over features
  and pairs. These are `reenact eval`'s expression_gain / expression_r on landmarks alone;
  `lift_gain` / `lift_r` the same of a smile's lift (`reenact_lab.metrics.expression.smile_lift`,
  head pose undone), the eval's smile lift rows, over the pairs whose actor's corners moved.
- `self_nme` (main only): self-reenactment on landmarks, each held-out clip driving its own
  frame 0 (`self_nme`; the clips: the splits file's `self_clips`, `configs/splits/fusion.yaml`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from collections.abc import Callable

import numpy as np

from reenact.config import load_config
from reenact.errors import one_line_errors
from reenact.fusion.network import NetworkFusion
from reenact.fusion.transfer import TrainingFreeFusion
from reenact.landmarks.expressiveness import relative
from reenact.landmarks.head_pose import undo_pose
from reenact_lab.metrics.expression import smile_lift
from reenact_lab.train.cache import read_cache
from reenact_lab.train.fusion_data import Person, cache_digest, load_people, numbered_pairs
from reenact_lab.train.pairs import split_by_identity
from reenact_lab.train.splits import SPLITS_FILE, read_splits

IOD_PX = 64.0
SIZE = 256
HALF = 128.0
MIN_SPREAD = 0.02  # a feature that moves less than this (std, region units) is not scored

Fuse = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def px(unit: np.ndarray) -> np.ndarray:
    out = np.asarray(unit, np.float32) * np.float32(HALF)
    out[..., :2] += HALF
    return out


def training_free() -> Fuse:
    free = TrainingFreeFusion()

    def fuse(source, source_neutral, target):
        return np.stack([free.fuse(s, n, t) for s, n, t in zip(source, source_neutral, target)])

    return fuse


def stills_nme(fuse: Fuse, people: list[Person]) -> float | None:
    pairs = numbered_pairs(people)
    if not pairs:
        return None
    source = px(np.stack([a.frames[i] for a, i, _, _ in pairs]))
    neutral = px(np.stack([a.neutral for a, _, _, _ in pairs]))
    target = px(np.stack([b.neutral for _, _, b, _ in pairs]))
    real = px(np.stack([b.frames[j] for _, _, b, j in pairs]))
    fused = fuse(source, neutral, target)
    return float(np.linalg.norm(fused[..., :2] - real[..., :2], axis=-1).mean() / IOD_PX)


def carried(actor: np.ndarray, output: np.ndarray) -> tuple[list[float], list[float]]:
    """(F,6) actor and output features (same units) -> per scored feature: slopes, Pearson r."""
    slopes, rs = [], []
    for k in range(actor.shape[1]):
        a, o = actor[:, k], output[:, k]
        if a.std() < MIN_SPREAD:
            continue
        a0, o0 = a - a.mean(), o - o.mean()
        slopes.append(float((a0 * o0).sum() / (a0 * a0).sum()))
        rs.append(float((a0 * o0).sum() / np.sqrt((a0 * a0).sum() * (o0 * o0).sum() + 1e-12)))
    return slopes, rs


def expression_carried(fuse: Fuse, people: list[Person]) -> dict[str, Any]:
    """Every clip person of `people` driving every other person's neutral (see module doc)."""
    slopes, rs, lift_gain, lift_r = [], [], [], []
    for a in (p for p in people if not p.stills):
        for b in (p for p in people if p is not a):
            src, src_n, tgt = px(a.frames), px(a.neutral), px(b.neutral)
            fused = fuse(
                src, np.repeat(src_n[None], len(src), 0), np.repeat(tgt[None], len(src), 0)
            )
            s, r = carried(relative(src, src_n), relative(fused, tgt))
            slopes += s
            rs += r
            s, r = carried(smile_lift(src, src_n)[:, None], smile_lift(fused, tgt)[:, None])
            lift_gain += s
            lift_r += r
    return {
        "gain": float(np.mean(slopes)) if slopes else None,
        "r": float(np.mean(rs)) if rs else None,
        "pairs": len(slopes),
        "lift_gain": float(np.mean(lift_gain)) if lift_gain else None,
        "lift_r": float(np.mean(lift_r)) if lift_r else None,
    }


def measure(fuse: Fuse, people: list[Person]) -> dict[str, Any]:
    return {"nme": stills_nme(fuse, people), **expression_carried(fuse, people)}


def old_protocol_nme(fuse_one, prepared: str) -> float:
    """The previous model card's figure: the 64 fixed cross pairs of the two held-out stills
    subjects drawn by `reenact_lab.train.fusion_trainer` (seed 0) from a `reenact prepare` cache of
    the labelled stills."""
    from reenact_lab.train.fusion_trainer import to_px, validation_pairs

    split = split_by_identity(read_cache(prepared), ["expressions_14", "expressions_15"], 0.2)
    errors = []
    for p in (p for p in validation_pairs(split, seed=0) if p.kind == "cross"):
        fused = fuse_one(
            to_px(p.source, SIZE), to_px(p.source_neutral, SIZE), to_px(p.target, SIZE), 1.0
        )
        real = to_px(p.real, SIZE)
        errors.append(np.linalg.norm(fused[:, :2] - real[:, :2], axis=1).mean() / IOD_PX)
    return float(np.mean(errors))


def self_nme(
    fuse_one, cache: str, clips=None, *, frames: int = 60, calibration: int = 10, live: bool = False
) -> float:
    """Self-reenactment on landmarks: each clip's frame 0 is the target, the median of its first
    `calibration` frames the actor's neutral; mean NME (xy / IOD_PX) of J_gen against the real
    frame over frames calibration .. frames. fuse_one: (478,3) x3 crop pixels -> (478,3).

    live: as the live loop fuses with head motion on: each frame's head pose is undone against
    the neutral before fusion, and the truth is the frame in frame 0's pose (the head's own
    motion is the head-motion stage's, not the fuser's). clips: default the splits file's
    self_clips."""
    clips = read_splits().self_clips if clips is None else clips
    errors = []
    for name in clips:
        path = Path(cache) / f"{name}.npz"
        if not path.exists():
            continue
        with np.load(path, allow_pickle=False) as data:
            lm = data["landmarks"]
        lm = lm[np.isfinite(lm).all(axis=(1, 2))][:frames]
        neutral = np.median(lm[:calibration], axis=0)
        for f in lm[calibration:]:
            source, real = f, f
            if live:
                source = undo_pose(f, neutral)[0].astype(np.float32)
                real = undo_pose(f, lm[0])[0]
            errors.append(
                np.linalg.norm(
                    fuse_one(source, neutral, lm[0], 1.0)[:, :2] - real[:, :2], axis=1
                ).mean()
                / IOD_PX
            )
    return float(np.mean(errors)) if errors else float("nan")


def report(
    fuse_one, people: list[Person], cache: str, prepared: str = "", clips=None
) -> dict[str, Any]:
    """Every measure of this module for one fuser (`fuse_one(source, source_neutral,
    target_neutral, intensity) -> (478,3)`, crop pixels): `measure` on `people`, `self_nme`
    and its live form on `clips` of `cache`, and with `prepared` (a `reenact prepare` cache of the
    labelled stills) the old card's 64-pair NME."""
    row = measure(lambda s, n, t: np.stack([fuse_one(*x, 1.0) for x in zip(s, n, t)]), people)
    row["self_nme"] = self_nme(fuse_one, cache, clips)
    row["self_nme_live"] = self_nme(fuse_one, cache, clips, live=True)
    if prepared:
        row["nme_old_protocol"] = old_protocol_nme(fuse_one, prepared)
    return row


def fitted_on(weights: str, digest: str) -> str:
    """One line: whether the Phi file `weights` was fitted on the landmark cache whose
    `cache_digest` is `digest` (the scores of a file fitted on another tracking of the same
    media differ from its fit's by that tracking's noise)."""
    from reenact.engine.weights import load_weights

    recorded = load_weights(weights)[1].get("cache_digest")
    if recorded is None:
        return f"{weights}: its landmark cache is not recorded (fitted before 2026-11-25)"
    if recorded == digest:
        return f"{weights}: fitted on this landmark cache ({digest})"
    return (
        f"{weights}: fitted on landmark cache {recorded}, scored on {digest}: another "
        "tracking, so its scores here are not its fit's"
    )


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    """`python -m reenact_lab.train.fusion_validate [WEIGHTS...]`: the measures above on the test
    people, for the training-free transfer and each Phi weights file."""
    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="*")
    parser.add_argument("--cache", default="cache/landmarks")
    parser.add_argument(
        "--prepared", default="", help="reenact prepare cache of the labelled stills"
    )
    parser.add_argument(
        "--splits",
        type=Path,
        default=SPLITS_FILE,
        help="who is whom and who is tested (default: %(default)s)",
    )
    parser.add_argument(
        "--people",
        nargs="+",
        default=None,
        help="people to score (default: the splits file's test people)",
    )
    args = parser.parse_args(argv)
    splits = read_splits(args.splits)
    people = load_people(args.cache, include=args.people or splits.test, splits=splits)
    config = load_config(None)
    fusers = {
        "training_free": TrainingFreeFusion(),
        **{w: NetworkFusion.from_weights(w, config) for w in args.weights},
    }
    digest = cache_digest(args.cache)
    for w in args.weights:
        print(fitted_on(w, digest), file=sys.stderr)
    for name, f in fusers.items():
        print(
            name, json.dumps(report(f.fuse, people, args.cache, args.prepared, splits.self_clips))
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
