"""Score a learned region (the mouth, or the eyes) against its painters on held-out people
(self-reenactment).

For every held-out clip of a prepared cache (`lab.train_local.held_out_clips`), the reference
frame is warped to the other frames' landmarks three ways: the warp with its painters (the
default), without the region's painters (the network's input), and with the learned region
(`--weights`) in their place. Prints box SSIM and sharpness (variance of the Laplacian, as a ratio
to the real box's), whole-crop SSIM and each renderer's ms per frame, per part (the mouth; each
eye), over the region's groups (`Region.groups`: all, those that changed more than its threshold
and, for the eyes, those closing (lid gap under half the reference's) and the open ones that
changed); writes a strip of the most changed parts (real / painted / [bare warp /] learned) to
`--strip`.

    python -m lab.local_measure --region mouth /work/cache/local_mouth/prepared \
        --weights /work/cache/local_mouth/run/local_mouth.safetensors --strip /tmp/strip.png
    python -m lab.local_measure --region eyes /work/cache/local_mouth/prepared \
        --weights /work/cache/local_eyes/run/local_eyes.safetensors --strip /tmp/strip.png --stride 2
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

from lab.local_data import REGIONS, Region
from lab.train_local import held_out_clips, ssim

KINDS = ("painted", "bare", "learned")


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var())


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    t = [
        torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float() / 127.5 - 1
        for x in (a, b)
    ]
    return float(ssim(*t)[0])


def score_clip(region: Region, path: Path, engines: dict, rows: list, strips: list, stride: int):
    d = np.load(path, allow_pickle=False)
    good = np.flatnonzero(d["valid"])
    lm, crops = d["landmarks"], d["crops"]
    ref = int(d["reference"]) if int(d["reference"]) in good else int(good[0])
    stats = region.shape(np.nan_to_num(lm))
    frames = good[good != ref][::stride]
    moved = region.change(stats, frames, np.full(len(frames), ref))
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
        for part in region.parts:
            box = region.box(follow, part)
            real = region.cut(crops[j], box, part, mirrored=False)
            stat = region.fields(stats, np.array([j]), np.array([ref]), np.array([part]))
            row: dict[str, Any] = {
                "clip": path.stem,
                "part": part,
                "change": float(moved[n, part]),
                **{k: float(v[0]) for k, v in stat.items()},
                "real_sharp": sharpness(real),
                **crop_scores,
            }
            boxes = {k: region.cut(images[k], box, part, mirrored=False) for k in KINDS}
            for kind in KINDS:
                row[f"{kind}_{region.box_name}"] = _ssim(boxes[kind], real)
                row[kind + "_sharp"] = sharpness(boxes[kind]) / max(row["real_sharp"], 1e-6)
            rows.append(row)
            shown = np.concatenate([real, *(boxes[k] for k in region.strip_kinds)], 1)
            strips.append((row["change"], shown))


def summary(region: Region, rows: list[dict]) -> dict:
    out = {}
    for name in region.groups:
        chosen = [r for r in rows if region.group(name, r)]
        if not chosen:
            continue
        out[name] = {region.count_name: len(chosen)} | {
            f"{k}_{m}": round(float(np.median([r[f"{k}_{m}"] for r in chosen])), 4)
            if m in ("ms", "sharp")
            else round(float(np.mean([r[f"{k}_{m}"] for r in chosen])), 4)
            for k in KINDS
            for m in (region.box_name, "crop", "sharp", "ms")
        }
    return out


def per_clip(region: Region, rows: list[dict]) -> dict:
    """Each clip's mean box SSIM per renderer where its part changed (with how many parts, for
    the eyes)."""
    out = {}
    for clip in sorted({r["clip"] for r in rows}):
        mine = [r for r in rows if r["clip"] == clip and r["change"] > region.changed]
        if mine:
            count = {region.count_name: len(mine)} if region.per_clip_count else {}
            out[clip] = count | {
                k: round(float(np.mean([r[f"{k}_{region.box_name}"] for r in mine])), 3)
                for k in KINDS
            }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cache", type=Path)
    ap.add_argument("--region", choices=sorted(REGIONS), required=True)
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("--strip", type=Path, required=True)
    ap.add_argument("--stride", type=int, default=1, help="score every N-th frame")
    ap.add_argument("--reach", type=float, default=0.0, help="the mouth's reach (0: box)")
    args = ap.parse_args()
    region = REGIONS[args.region]
    if not args.weights.is_file():
        raise SystemExit(f"{args.weights}: no such weights file")
    torch.set_num_threads(1)
    engines = region.measure_renderers(args.weights, args.reach)
    rows: list[dict] = []
    strips: list = []
    for clip in sorted(held_out_clips()):
        path = args.cache / f"{clip}.npz"
        if path.exists():
            score_clip(region, path, engines, rows, strips, args.stride)
    if not rows:
        raise SystemExit(f"{args.cache}: no held-out clip to score")
    print(json.dumps(summary(region, rows), indent=1))
    print(json.dumps(per_clip(region, rows), indent=1))
    strips.sort(key=lambda s: -s[0])
    spread, count, zoom = region.strip_picks
    picked = strips[:: max(1, len(strips) // spread)][:count]
    grid = np.concatenate([s[1] for s in picked], 0)
    cv2.imwrite(
        str(args.strip),
        cv2.resize(grid[..., ::-1], None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC),
    )


if __name__ == "__main__":
    main()
