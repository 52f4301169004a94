"""Self-reenactment pairs for the learned mouth (issue 88), as npz shards outside the repository.

For every clip of a prepared cache (`reenact prepare ... --format npz`, docs/DATA.md): the
clip's neutral reference R and its most open mouth R2 are warped by the real `WarpRenderer` to
the landmarks of other frames D, and the mouth box (`reenact.render.learned_mouth.mouth_box`,
from the landmarks the warp follows) is cut from R's crop at rest, the warp with its painted
mouth off (what the network sees), the warp with it on (the painters, for the scores), the
lip contours and D's real crop. Each pair keeps how much the mouth changed, so the trainer can
sample changing mouths far more often.

    python lab/local_mouth_data.py /work/cache/local_mouth/prepared /work/cache/local_mouth/pairs
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from reenact.render.learned_mouth import contours, cut, mouth_box
from reenact.render.warp import WarpRenderer

SIZE = 256
OPEN_PAIRS = 48  # pairs from the most open frame (half the most changed, half random)


def mouth_shape(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,478,2+) -> lip gap (13-14) and mouth width (61-291) in crop pixels."""
    gap = np.linalg.norm(lm[:, 13, :2] - lm[:, 14, :2], axis=1)
    width = np.linalg.norm(lm[:, 61, :2] - lm[:, 291, :2], axis=1)
    return gap, width


def change(gap, width, ref: int) -> np.ndarray:
    """How much each frame's mouth differs from frame `ref`'s, in pixels at 256."""
    return np.abs(gap - gap[ref]) + 0.5 * np.abs(width - width[ref])


def pairs_from(ref: int, frames: np.ndarray, crops, lm, warps) -> dict[str, list]:
    """Cut every (ref, frame) pair: the warps are (without painter, with painter)."""
    bare, painted = warps
    for w in warps:
        w.set_target(crops[ref], lm[ref])
    rest = cut(crops[ref], mouth_box(lm[ref, :, :2], SIZE))
    out: dict[str, list] = {k: [] for k in ("rest", "warp", "painted", "lips", "real", "ref")}
    out["frame"] = []
    for j in frames:
        follow = bare.follow(lm[j])
        box = mouth_box(follow, SIZE)
        out["warp"].append(cut(bare.render(lm[j]), box))
        out["painted"].append(cut(painted.render(lm[j]), box))
        out["lips"].append((contours(follow, box) * 255).astype(np.uint8))
        out["real"].append(cut(crops[j], box))
        out["rest"].append(rest)
        out["ref"].append(ref)
        out["frame"].append(int(j))
    return out


def clip_pairs(path: Path, rng: np.random.Generator) -> dict[str, np.ndarray] | None:
    d = np.load(path, allow_pickle=False)
    valid = d["valid"]
    good = np.flatnonzero(valid)
    if len(good) < 4:
        return None
    lm, crops = d["landmarks"], d["crops"]
    ref = int(d["reference"]) if int(d["reference"]) in good else int(good[0])
    gap, width = mouth_shape(np.nan_to_num(lm))
    warps = (WarpRenderer(size=SIZE, fill_mouth=False), WarpRenderer(size=SIZE))
    parts = [pairs_from(ref, good[good != ref], crops, lm, warps)]
    opened = int(good[np.argmax(gap[good])])
    if gap[opened] > gap[ref] + 4:
        others = good[good != opened]
        score = change(gap, width, opened)[others]
        top = others[np.argsort(-score)[: OPEN_PAIRS // 2]]
        rest = np.setdiff1d(others, top)
        extra = rng.choice(rest, min(len(rest), OPEN_PAIRS // 2), replace=False)
        parts.append(pairs_from(opened, np.concatenate([top, extra]), crops, lm, warps))
    merged = {k: np.stack([v for p in parts for v in p[k]]) for k in parts[0]}
    refs, frames = merged["ref"], merged["frame"]
    merged["change"] = (
        np.abs(gap[frames] - gap[refs]) + 0.5 * np.abs(width[frames] - width[refs])
    ).astype(np.float32)
    merged["gap"] = gap[frames].astype(np.float32)
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    index = json.loads((args.cache / "index.json").read_text())
    rng = np.random.default_rng(0)
    for entry in index["entries"]:
        shard = args.out / f"{entry['name']}.npz"
        if shard.exists():
            continue
        pairs = clip_pairs(args.cache / f"{entry['name']}.npz", rng)
        if pairs is None:
            print(entry["name"], "skipped", flush=True)
            continue
        tmp = shard.with_name(shard.stem + ".tmp.npz")
        np.savez(tmp, identity=entry["identity"], **pairs)
        tmp.rename(shard)
        print(entry["name"], len(pairs["frame"]), flush=True)


if __name__ == "__main__":
    main()
