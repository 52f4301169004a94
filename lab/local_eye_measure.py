"""Score the learned eyes against the painted irises and lids on held-out people
(self-reenactment).

For every held-out clip of a prepared cache (`lab.train_local_mouth.held_out_clips`), the
reference frame is warped to the other frames' landmarks three ways: the warp with its painters
(the default), without the iris and lid painters (the network's input), and with the learned
eyes (`--weights`) in their place. Prints eye-box SSIM and sharpness (variance of the Laplacian,
as a ratio to the real eye's), whole-crop SSIM and each renderer's ms per frame, per eye, over
all eyes, those that changed by more than 3 px (lid gap + 2 x iris move) and those closing (lid
gap under half the reference's); writes a strip of the most changed eyes (real / painted / bare
warp / learned) to `--strip`.

    python -m lab.local_eye_measure /work/cache/local_mouth/prepared \
        --weights /work/cache/local_eyes/run/local_eyes.safetensors \
        --strip /work/cache/local_eyes/strip.png --stride 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from lab.local_eye_data import change, eye_shape, painted_off
from lab.train_local_mouth import held_out_clips, ssim
from reenact.render.learned_eyes import LearnedEyes, cut, eye_box
from reenact.render.warp import WarpRenderer

SIZE = 256
KINDS = ("painted", "bare", "learned")
CHANGED = 3.0
GROUPS = {
    "all": lambda r: True,
    "changed>3px": lambda r: r["change"] > CHANGED,
    "closing (gap < ref/2)": lambda r: r["gap"] < 0.5 * r["ref_gap"],
    "open, changed": lambda r: r["change"] > CHANGED and r["gap"] >= 0.5 * r["ref_gap"],
}


def renderers(weights: Path) -> dict[str, WarpRenderer]:
    bare, learned = WarpRenderer(size=SIZE), WarpRenderer(size=SIZE)
    painted_off(bare)
    painted_off(learned)
    at = next(i for i, c in enumerate(learned.corrections) if c.name == "eyes") + 1
    learned.corrections.insert(at, LearnedEyes(size=SIZE, weights=weights))
    return {"painted": WarpRenderer(size=SIZE), "bare": bare, "learned": learned}


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var())


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    t = [
        torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float() / 127.5 - 1
        for x in (a, b)
    ]
    return float(ssim(*t)[0])


def score_clip(path: Path, engines: dict, rows: list, strips: list, stride: int) -> None:
    d = np.load(path, allow_pickle=False)
    good = np.flatnonzero(d["valid"])
    lm, crops = d["landmarks"], d["crops"]
    ref = int(d["reference"]) if int(d["reference"]) in good else int(good[0])
    gap, iris = eye_shape(np.nan_to_num(lm))
    frames = good[good != ref][::stride]
    moved = change(gap, iris, frames, np.full(len(frames), ref))
    for e in engines.values():
        e.set_target(crops[ref], lm[ref])
    for n, j in enumerate(frames):
        follow = engines["painted"].follow(lm[j])
        images, crop_scores = {}, {}
        for kind, e in engines.items():
            t0 = time.perf_counter()
            images[kind] = e.render(lm[j])
            crop_scores[kind + "_ms"] = (time.perf_counter() - t0) * 1000
            crop_scores[kind + "_crop"] = _ssim(images[kind], crops[j])
        for eye in (0, 1):
            box = eye_box(follow, eye, SIZE)
            real = cut(crops[j], box, False)
            row: dict[str, Any] = {
                "clip": path.stem,
                "eye": eye,
                "change": float(moved[n, eye]),
                "gap": float(gap[j, eye]),
                "ref_gap": float(gap[ref, eye]),
                "real_sharp": sharpness(real),
                **crop_scores,
            }
            eyes = {kind: cut(images[kind], box, False) for kind in KINDS}
            for kind in KINDS:
                row[kind + "_eye"] = _ssim(eyes[kind], real)
                row[kind + "_sharp"] = sharpness(eyes[kind]) / max(row["real_sharp"], 1e-6)
            rows.append(row)
            strips.append((row["change"], np.concatenate([real, *(eyes[k] for k in KINDS)], 1)))


def summary(rows: list[dict]) -> dict:
    out = {}
    for name, keep in GROUPS.items():
        chosen = [r for r in rows if keep(r)]
        if not chosen:
            continue
        out[name] = {"eyes": len(chosen)} | {
            f"{k}_{m}": round(float(np.median([r[f"{k}_{m}"] for r in chosen])), 4)
            if m in ("ms", "sharp")
            else round(float(np.mean([r[f"{k}_{m}"] for r in chosen])), 4)
            for k in KINDS
            for m in ("eye", "crop", "sharp", "ms")
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cache", type=Path)
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("--strip", type=Path, required=True)
    ap.add_argument("--stride", type=int, default=1, help="score every N-th frame")
    args = ap.parse_args()
    torch.set_num_threads(1)
    engines = renderers(args.weights)
    rows: list[dict] = []
    strips: list = []
    for clip in sorted(held_out_clips()):
        path = args.cache / f"{clip}.npz"
        if path.exists():
            score_clip(path, engines, rows, strips, args.stride)
    print(json.dumps(summary(rows), indent=1))
    per_clip = {}
    for clip in sorted({r["clip"] for r in rows}):
        mine = [r for r in rows if r["clip"] == clip and r["change"] > CHANGED]
        if mine:
            per_clip[clip] = {"eyes": len(mine)} | {
                k: round(float(np.mean([r[k + "_eye"] for r in mine])), 3) for k in KINDS
            }
    print(json.dumps(per_clip, indent=1))
    strips.sort(key=lambda s: -s[0])
    picked = strips[:: max(1, len(strips) // 60)][:12]
    grid = np.concatenate([s[1] for s in picked], 0)
    cv2.imwrite(
        str(args.strip),
        cv2.resize(grid[..., ::-1], None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC),
    )


if __name__ == "__main__":
    main()
