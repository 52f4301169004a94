"""Self-reenactment pairs for the learned eyes (issue 88), as npz shards outside the repository.

For every clip of a prepared cache (`reenact prepare ... --format npz`, docs/DATA.md; the one the
learned mouth used): the clip's neutral reference R, and its most closed eyes R2 when they are
clearly more closed than R's, are warped by the real `WarpRenderer` to the landmarks of other
frames D. Each eye becomes one sample (the image-left eye mirrored, as
`reenact.render.learned_eyes` mirrors it): the eye box (`eye_box`, from the landmarks the warp
follows) is cut from R's crop at rest, the warp with its painted irises and lids off (what the
network sees), the same warp with them painted (for the scores), the driving eye's contours and
D's real crop. Each sample keeps how much its eye changed (lid gap and iris against the eye's
corners), so the trainer can sample blinks and gazes far more often.

    python -m lab.local_eye_data /work/cache/local_mouth/prepared /work/cache/local_eyes/pairs
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from reenact.render.corrections.apply import paint
from reenact.render.eyes import LOWER_LIDS, UPPER_LIDS
from reenact.render.learned_eyes import EYES, FLIPPED, IRISES, contours, cut, eye_box
from reenact.render.warp import WarpRenderer

SIZE = 256
CLOSED_PAIRS = 48  # pairs from the most closed frame (half the most changed, half random)
PAINTERS = ("irises", "lids")
KEYS = ("rest", "warp", "painted", "lines", "real")


def eye_shape(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,478,2+) -> lid gap (N,2) and the iris centre against the eye's corners' midpoint
    (N,2,2), crop pixels, per eye (0: image-left)."""
    gaps, irises = [], []
    for eye in (0, 1):
        gap = lm[:, LOWER_LIDS[eye], 1] - lm[:, UPPER_LIDS[eye], 1]
        gaps.append(np.maximum(gap, 0).mean(axis=1))
        centre = 0.5 * (lm[:, EYES[eye][0], :2] + lm[:, EYES[eye][8], :2])
        irises.append(lm[:, IRISES[eye][0], :2] - centre)
    return np.stack(gaps, 1), np.stack(irises, 1)


def change(gap: np.ndarray, iris: np.ndarray, frames: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """(n,2) how much each eye of frames differs from the same eye of refs, px at 256: the lid
    gap's change plus twice the iris's move (an iris moves a few pixels at most)."""
    moved = np.linalg.norm(iris[frames] - iris[refs], axis=2)
    return np.abs(gap[frames] - gap[refs]) + 2 * moved


def painted_off(warp: WarpRenderer) -> list:
    """Take the lid and iris painters out of `warp`'s corrections and return them."""
    painters = [c for c in warp.corrections if c.name in PAINTERS]
    warp.corrections = [c for c in warp.corrections if c.name not in PAINTERS]
    return painters


def pairs_from(ref: int, frames: np.ndarray, crops, lm, warp, painters) -> dict[str, list]:
    """Cut every (ref, frame) pair, both eyes."""
    warp.set_target(crops[ref], lm[ref])
    for p in painters:
        p.prepare(crops[ref], lm[ref])
    rest = [cut(crops[ref], eye_box(lm[ref, :, :2], e, SIZE), FLIPPED[e]) for e in (0, 1)]
    out: dict[str, list] = {k: [] for k in (*KEYS, "ref", "frame", "eye")}
    for j in frames:
        follow = warp.follow(lm[j])
        bare = warp.render(lm[j])
        painted = bare.copy()
        for p in painters:
            paint(painted, p.overlay(follow))
        for e in (0, 1):
            box = eye_box(follow, e, SIZE)
            out["rest"].append(rest[e])
            out["warp"].append(cut(bare, box, FLIPPED[e]))
            out["painted"].append(cut(painted, box, FLIPPED[e]))
            out["lines"].append((contours(follow, e, box) * 255).round().astype(np.uint8))
            out["real"].append(cut(crops[j], box, FLIPPED[e]))
            out["ref"].append(ref)
            out["frame"].append(int(j))
            out["eye"].append(e)
    return out


def clip_pairs(path: Path, rng: np.random.Generator, every: int) -> dict[str, np.ndarray] | None:
    d = np.load(path, allow_pickle=False)
    good = np.flatnonzero(d["valid"])
    if len(good) < 4:
        return None
    lm, crops = d["landmarks"], d["crops"]
    ref = int(d["reference"]) if int(d["reference"]) in good else int(good[0])
    gap, iris = eye_shape(np.nan_to_num(lm))
    warp = WarpRenderer(size=SIZE)
    painters = painted_off(warp)
    others = good[good != ref]
    parts = [pairs_from(ref, others[::every], crops, lm, warp, painters)]
    shut = int(good[np.argmin(gap[good].mean(1))])
    if gap[shut].mean() < gap[ref].mean() - 3:
        rest = good[good != shut]
        score = change(gap, iris, rest, np.full(len(rest), shut)).sum(1)
        top = rest[np.argsort(-score)[: CLOSED_PAIRS // 2]]
        left = np.setdiff1d(rest, top)
        extra = rng.choice(left, min(len(left), CLOSED_PAIRS // 2), replace=False)
        parts.append(pairs_from(shut, np.concatenate([top, extra]), crops, lm, warp, painters))
    merged = {k: np.stack([v for p in parts for v in p[k]]) for k in parts[0]}
    refs, frames, eyes = merged["ref"], merged["frame"], merged["eye"]
    moved = change(gap, iris, frames, refs)
    rows = np.arange(len(eyes))
    merged["change"] = moved[rows, eyes].astype(np.float32)
    merged["gap"] = gap[frames, eyes].astype(np.float32)
    merged["ref_gap"] = gap[refs, eyes].astype(np.float32)
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--every", type=int, default=1, help="use every n-th frame from R")
    parser.add_argument("--part", default="0/1", help="k/n: this process takes clips k, k+n, ...")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    index = json.loads((args.cache / "index.json").read_text())
    k, n = (int(v) for v in args.part.split("/"))
    for i, entry in enumerate(index["entries"]):
        shard = args.out / f"{entry['name']}.npz"
        if i % n != k or shard.exists():
            continue
        rng = np.random.default_rng(i)
        pairs = clip_pairs(args.cache / f"{entry['name']}.npz", rng, args.every)
        if pairs is None:
            print(entry["name"], "skipped", flush=True)
            continue
        tmp = shard.with_name(shard.stem + ".tmp.npz")
        np.savez(tmp, identity=entry["identity"], **pairs)
        tmp.rename(shard)
        print(entry["name"], len(pairs["frame"]), flush=True)


if __name__ == "__main__":
    main()
