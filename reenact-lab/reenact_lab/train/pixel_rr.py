"""`reenact train pixel-rr`: the per-pixel ridge regression, one model per expression class.

Pairs come from a prepared cache (`reenact prepare`, aligned crops + landmarks):

- labelled stills: (NN_normal, NN_<condition>) of every subject not in `pixel_rr.holdout`,
  condition by class (smile: happy, surprise: surprised, sad: sad, wink: wink);
- clips: per clip, its calmest frame (`least_expressive_neutral`) against the `clip_frames`
  frames that show the class best by expression features, if their score passes `min_score` and
  the head has not turned (`rank_frames`).

Winks are mirrored so that the same eye closes in every pair; other pairs are also used
mirrored (the paper's flips). Crops are turned to luma in [0, 1] and fitted in closed form.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from reenact.atomic import write_json
from reenact.errors import InputError
from reenact.fusion.preset_record import least_expressive_neutral, rank_frames
from reenact.landmarks.expression import feature_deltas
from reenact.render.pixel_rr import ARCH, KINDS, PixelRRModel, gaussian_features
from reenact_lab.train.cache import is_cache, read_cache
from reenact_lab.train.augment import flip_image

STILL_CONDITIONS = {"smile": "happy", "surprise": "surprised", "sad": "sad", "wink": "wink"}
MIN_GAP = 5  # frames of one clip used for one class are at least this far apart


@dataclass
class PairSet:
    """Training pairs of one class: (N,S,S) float32 luma in [0,1] each, and where they came from."""

    neutral: list[np.ndarray]
    expression: list[np.ndarray]
    sources: list[str]


def luma(crop: np.ndarray) -> np.ndarray:
    """(S,S,3) uint8 RGB -> (S,S) float32 in [0,1]."""
    return cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0


def is_held_out(identity: str, holdout: tuple[str, ...]) -> bool:
    """Stills identities look like 'expressions_NN': held out when the last part is listed."""
    return identity in holdout or identity.rsplit("_", 1)[-1] in holdout


def _add(pairs: PairSet, neutral_crop, expr_crop, n_lm, e_lm, cls: str, source: str) -> None:
    a, b = luma(neutral_crop), luma(expr_crop)
    flipped = (flip_image(a), flip_image(b))
    if cls == "wink":
        d = feature_deltas(e_lm, n_lm)
        if d["eye_right"] < d["eye_left"]:  # keep the subject's left eye closing, as the preset
            a, b = flipped
        pairs.neutral.append(a)
        pairs.expression.append(b)
        pairs.sources.append(source)
        return
    for x, y in ((a, b), flipped):
        pairs.neutral.append(x)
        pairs.expression.append(y)
        pairs.sources.append(source)


def _still_pairs(entry, classes, holdout, out: dict[str, PairSet]) -> None:
    labels = list(entry.expression)
    if is_held_out(entry.identity, holdout) or "neutral" not in labels:
        return
    crops = entry.load_crops()
    n = labels.index("neutral")
    for cls in classes:
        condition = STILL_CONDITIONS.get(cls)
        if condition in labels and entry.valid[labels.index(condition)] and entry.valid[n]:
            i = labels.index(condition)
            _add(
                out[cls],
                crops[n],
                crops[i],
                entry.landmarks[n],
                entry.landmarks[i],
                cls,
                f"{entry.name}:{condition}",
            )


def _clip_pairs(entry, classes, settings, out: dict[str, PairSet]) -> None:
    valid = entry.valid_indices
    faces = entry.landmarks[valid]
    neutral = least_expressive_neutral(faces)
    calm = int(valid[np.argmin(np.abs(faces - neutral)[..., :2].mean(axis=(1, 2)))])
    crops = None
    for cls in classes:
        scores = rank_frames(faces, neutral, cls, entry.size)
        chosen: list[int] = []
        for k in np.argsort(-scores):
            if scores[k] < settings.min_score or len(chosen) >= settings.clip_frames:
                break
            if all(abs(int(k) - c) >= MIN_GAP for c in chosen):
                chosen.append(int(k))
        if chosen and crops is None:
            crops = entry.load_crops()
        for k in chosen:
            i = int(valid[k])
            _add(
                out[cls],
                crops[calm],
                crops[i],
                entry.landmarks[calm],
                entry.landmarks[i],
                cls,
                f"{entry.name}:{int(entry.frame_index[i])}",
            )


def fit_pixel_rr(
    neutral: np.ndarray,
    expression: np.ndarray,
    *,
    kind: str = "linear",
    ridge: float = 0.4,
    centres: int = 8,
    name: str = "",
) -> PixelRRModel:
    """Closed-form per-pixel ridge regression.

    neutral, expression: (N,S,S) float32 in [0,1], aligned pairs (luma). Returns the model."""
    if kind not in KINDS:
        raise ValueError(f"pixel_rr.kind '{kind}' is not one of {', '.join(KINDS)}")
    x = neutral.astype(np.float64)
    y = expression.astype(np.float64)
    n = x.shape[0]
    if kind == "linear":
        xm, ym = x.mean(0), y.mean(0)
        xc, yc = x - xm, y - ym
        # min sum (y - w x - b)^2 + ridge (w - 1)^2
        w = ((xc * yc).sum(0) + ridge) / ((xc * xc).sum(0) + ridge)
        b = ym - w * xm
        weights = w[..., None]
    else:
        s = x.shape[1]
        phi = gaussian_features(x, centres).reshape(n, s * s, centres).transpose(1, 0, 2)
        target = (y - x).reshape(n, s * s).T  # (P,N): the residual, ridge towards identity
        pc = phi - phi.mean(axis=1, keepdims=True)  # (P,N,K)
        tc = target - target.mean(axis=1, keepdims=True)
        gram = np.matmul(pc.transpose(0, 2, 1), pc) + np.float32(ridge) * np.eye(
            centres, dtype=np.float32
        )
        rhs = np.matmul(pc.transpose(0, 2, 1), tc[..., None].astype(np.float32))
        w = np.linalg.solve(gram.astype(np.float64), rhs.astype(np.float64))[..., 0]  # (P,K)
        b = target.mean(axis=1) - np.einsum("pk,pk->p", phi.mean(axis=1), w)
        weights, b = w.reshape(s, s, centres), b.reshape(s, s)
    return PixelRRModel(
        kind, name, weights.astype(np.float32), b.astype(np.float32), float(ridge), n
    )


def save_pixel_rr(model: PixelRRModel, path: str | Path, meta: dict | None = None) -> Path:
    """fp16 safetensors with arch/kind/expression/size/ridge/pairs in the metadata."""
    import torch

    from reenact.engine.weights import save_weights

    tensors = {"weights": torch.from_numpy(model.weights), "bias": torch.from_numpy(model.bias)}
    info = {
        "arch": ARCH,
        "kind": model.kind,
        "expression": model.expression,
        "size": model.size,
        "ridge": model.ridge,
        "pairs": model.pairs,
        **(meta or {}),
    }
    return save_weights(path, tensors, info, dtype=torch.float16)


def collect_pairs(cache: Path, settings) -> dict[str, PairSet]:
    """Every class's pairs from the prepared cache at `cache` (see the module docstring)."""
    if not is_cache(cache):
        raise InputError(
            f"{cache}: not a prepared cache; run `reenact prepare CLIPS STILLS --out {cache}` first"
        )
    out = {cls: PairSet([], [], []) for cls in settings.classes}
    for entry in read_cache(cache):
        if entry.kind == "images":
            _still_pairs(entry, settings.classes, settings.holdout, out)
        elif entry.kind == "clip" and len(entry.valid_indices) > 10:
            _clip_pairs(entry, settings.classes, settings, out)
    return out


def train_pixel_rr(cache: Path, settings, out_dir: Path, size: int) -> dict:
    """Fit and save one model per class into `out_dir`; returns the summary (also written as
    `out_dir/pixel_rr.json`)."""
    start = time.perf_counter()
    pairs = collect_pairs(cache, settings)
    gathered = time.perf_counter()
    summary: dict = {
        "kind": settings.kind,
        "ridge": settings.ridge,
        "size": size,
        "holdout": list(settings.holdout),
        "classes": {},
    }
    for cls, ps in pairs.items():
        if not ps.neutral:
            raise InputError(f"pixel-rr: no training pairs for class {cls} in {cache}")
        if ps.neutral[0].shape != (size, size):
            raise InputError(f"{cache}: crops are {ps.neutral[0].shape[0]}px; prepare at {size}")
        t0 = time.perf_counter()
        model = fit_pixel_rr(
            np.stack(ps.neutral),
            np.stack(ps.expression),
            kind=settings.kind,
            ridge=settings.ridge,
            centres=settings.centres,
            name=cls,
        )
        path = save_pixel_rr(
            model,
            out_dir / f"pixel_rr_{cls}_{size}.safetensors",
            {"holdout": ",".join(settings.holdout), "data": str(cache)},
        )
        summary["classes"][cls] = {
            "pairs": len(ps.neutral),
            "fit_s": round(time.perf_counter() - t0, 3),
            "file": str(path),
            "bytes": path.stat().st_size,
            "sources": sorted(set(ps.sources)),
        }
    summary["gather_s"] = round(gathered - start, 2)
    summary["total_s"] = round(time.perf_counter() - start, 2)
    write_json(out_dir / "pixel_rr.json", summary)
    return summary


def describe(summary: dict) -> str:
    rows = [
        f"{c}: {v['pairs']} pairs, fit {v['fit_s']} s, {v['bytes'] // 1024} KB"
        for c, v in summary["classes"].items()
    ]
    return json.dumps(rows)[1:-1].replace('"', "")
