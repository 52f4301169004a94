"""Score the learned mouth against the painters on held-out identities (self-reenactment).

For every held-out clip of a prepared cache (`configs/splits/fusion.yaml`'s validation and
test people), the reference frame is warped to the other frames' landmarks three ways: the
warp with its painters (the default), without the mouth painter, and with the learned mouth
(`--weights`). Prints mouth-box SSIM and sharpness (variance of the Laplacian, as a ratio to
the real mouth's), whole-crop SSIM and each renderer's ms per frame, over all frames and over
those whose mouth changed by more than 6 px; writes a strip of the most changed mouths (real /
painted / learned) to `--strip`.

    python -m lab.local_mouth_measure /work/cache/local_mouth/prepared \
        --weights /work/cache/local_mouth/run/local_mouth.safetensors --strip /tmp/strip.png
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
from lab.local_mouth_data import change, mouth_shape
from lab.train_local_mouth import held_out_clips, ssim
from reenact.render.learned_mouth import LearnedMouth, cut, mouth_box
from reenact.render.warp import WarpRenderer

SIZE = 256
KINDS = ("painted", "bare", "learned")


def renderers(weights: Path, reach: float) -> dict[str, WarpRenderer]:
    learned = WarpRenderer(size=SIZE, fill_mouth=False)
    learned.corrections.append(LearnedMouth(size=SIZE, weights=weights, reach=reach))
    return {
        "painted": WarpRenderer(size=SIZE),
        "bare": WarpRenderer(size=SIZE, fill_mouth=False),
        "learned": learned,
    }


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var())


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    t = [torch.from_numpy(x).permute(2, 0, 1)[None].float() / 127.5 - 1 for x in (a, b)]
    return float(ssim(*t)[0])


def score_clip(path: Path, engines: dict, rows: list, strips: list, stride: int) -> None:
    d = np.load(path, allow_pickle=False)
    good = np.flatnonzero(d["valid"])
    lm, crops = d["landmarks"], d["crops"]
    ref = int(d["reference"]) if int(d["reference"]) in good else int(good[0])
    gap, width = mouth_shape(np.nan_to_num(lm))
    moved = change(gap, width, ref)
    for e in engines.values():
        e.set_target(crops[ref], lm[ref])
    for j in good[good != ref][::stride]:
        box = mouth_box(engines["painted"].follow(lm[j]), SIZE)
        real = cut(crops[j], box)
        row: dict[str, Any] = {
            "clip": path.stem,
            "moved": float(moved[j]),
            "real_sharp": sharpness(real),
        }
        mouths = {}
        for kind, e in engines.items():
            t0 = time.perf_counter()
            image = e.render(lm[j])
            row[kind + "_ms"] = (time.perf_counter() - t0) * 1000
            mouths[kind] = cut(image, box)
            row[kind + "_mouth"] = _ssim(mouths[kind], real)
            row[kind + "_crop"] = _ssim(image, crops[j])
            row[kind + "_sharp"] = sharpness(mouths[kind]) / max(row["real_sharp"], 1e-6)
        rows.append(row)
        strips.append(
            (float(moved[j]), np.concatenate([real, mouths["painted"], mouths["learned"]], 1))
        )


def summary(rows: list[dict]) -> dict:
    out = {}
    for name, keep in (("all", lambda r: True), ("moved>6px", lambda r: r["moved"] > 6)):
        chosen = [r for r in rows if keep(r)]
        out[name] = {"pairs": len(chosen)} | {
            f"{k}_{m}": round(float(np.median([r[f"{k}_{m}"] for r in chosen])), 4)
            if m in ("ms", "sharp")
            else round(float(np.mean([r[f"{k}_{m}"] for r in chosen])), 4)
            for k in KINDS
            for m in ("mouth", "crop", "sharp", "ms")
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cache", type=Path)
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("--strip", type=Path, required=True)
    ap.add_argument("--stride", type=int, default=1, help="score every N-th frame")
    ap.add_argument("--reach", type=float, default=0.0, help="LearnedMouth's reach (0: box)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    engines = renderers(args.weights, args.reach)
    rows: list[dict] = []
    strips: list = []
    for clip in sorted(held_out_clips()):
        path = args.cache / f"{clip}.npz"
        if path.exists():
            score_clip(path, engines, rows, strips, args.stride)
    print(json.dumps(summary(rows), indent=1))
    per_clip = {}
    for clip in sorted({r["clip"] for r in rows}):
        mine = [r for r in rows if r["clip"] == clip and r["moved"] > 6]
        if mine:
            per_clip[clip] = {
                k: round(float(np.mean([r[k + "_mouth"] for r in mine])), 3) for k in KINDS
            }
    print(json.dumps(per_clip, indent=1))
    strips.sort(key=lambda s: -s[0])
    picked = strips[:: max(1, len(strips) // 40)][:10]
    grid = np.concatenate([s[1] for s in picked], 0)
    cv2.imwrite(
        str(args.strip),
        cv2.resize(grid[..., ::-1], None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC),
    )


if __name__ == "__main__":
    main()
