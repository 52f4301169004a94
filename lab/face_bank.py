"""A bank of the person's own mouths and eyes: `python -m lab.face_bank CLIP [--bank CLIP ...]`.

An experiment for personal avatars (issue 87). A target's own video holds its real open mouths,
teeth, tongue and shut lids; the renderers paint them. Here each part of the drive (mouth,
eyes) is drawn by the bank frame whose part is shaped most alike, warped to the drive's
landmarks with nothing painted, moved to the rendered face's colour around the part, and
feathered in over it: the bank `reenact avatar train` keeps (`reenact.render.face_bank`).

Self-reenactment, scored in the aligned crop: each drive frame's own landmarks drive a reference
frame, and boxes around the real lips and each real eye are compared with the real frame (SSIM).
Two settings:
- `--split F` (no `--bank`): one recording, as a user's avatar video is. The bank and the
  reference come from the clip's first F, the drives from the rest.
- `--bank CLIP ...`: the bank from other recordings of the person; the reference is the
  clip's own (`eval.reference_frame`), as `reenact eval --avatar` drives it.

Prints, per renderer, the mouth SSIM without and with the bank (all drives, and the third with
the widest lip gap) and the eyes' (all drives, and the fifth with the narrowest eyes);
`--out DIR` writes a strip (truth, renderer, with the bank) per renderer.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import cv2
import numpy as np
from skimage.metrics import structural_similarity

from reenact.config import load_config
from reenact.errors import InputError
from reenact.landmarks.clips import TrackedClip, track_clip
from reenact.render.corrections.apply import paste
from reenact.render.face_bank import EYE_ROWS, OUTER, FaceBank
from reenact_lab.eval.tracked import num_frames
from reenact_lab.train.avatar_write import keep

PADS = {"mouth": (0.35, 0.35, 4), "eye": (0.25, 0.5, 6)}  # the scored boxes: x, y share, px


def clips_bank(clips: list[TrackedClip]) -> FaceBank:
    """The bank `reenact avatar train` keeps (`keep`), from the clips' frames."""
    pool = [(clip, int(i)) for clip in clips for i in np.flatnonzero(clip.valid)]
    if not pool:
        raise InputError("face bank: no frame with a face in the bank's clips")
    landmarks = np.stack([c.landmarks_crop[i] for c, i in pool])
    return FaceBank(*keep(landmarks, lambda k: pool[k][0].crops[pool[k][1]]))


def box_ssim(image: np.ndarray, truth: np.ndarray, points: np.ndarray, pad) -> float:
    """SSIM in the box of `points` (crop px) with `pad` (x share, y share, px) on each side."""
    size = truth.shape[0]
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    px, py = (x1 - x0) * pad[0], (y1 - y0) * pad[1] + pad[2]
    x0, y0, x1, y1 = (int(np.clip(round(v), 0, size)) for v in (x0 - px, y0 - py, x1 + px, y1 + py))
    return float(
        structural_similarity(
            image[y0:y1, x0:x1], truth[y0:y1, x0:x1], channel_axis=2, data_range=255
        )
    )


def scores(image: np.ndarray, truth: np.ndarray, xy: np.ndarray) -> tuple[float, float]:
    """(mouth SSIM, the two eyes' mean SSIM) of `image` against `truth` by `xy`'s boxes."""
    mouth = box_ssim(image, truth, xy[OUTER, :2], PADS["mouth"])
    eyes = np.mean([box_ssim(image, truth, xy[rows, :2], PADS["eye"]) for rows in EYE_ROWS])
    return mouth, float(eyes)


def _renderers(config, names: list[str]) -> dict:
    from reenact_lab.eval.renderers import build_eval_renderers, chosen_renderers

    built = {r.name: r.renderer for r in build_eval_renderers(config, [])}
    return chosen_renderers(built, names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path, help="the clip whose frames drive and are the truth")
    parser.add_argument(
        "--bank",
        type=Path,
        nargs="*",
        default=[],
        help="other recordings of the person to keep mouths and eyes from",
    )
    parser.add_argument(
        "--split",
        type=float,
        default=0.6,
        help="without --bank: the clip's share the bank and reference come from",
    )
    parser.add_argument("--frames", type=int, default=300, help="frames read of each clip")
    parser.add_argument("--renderers", nargs="*", default=["warp", "generator:shipped"])
    parser.add_argument("--out", type=Path, default=None, help="write strips here (PNG)")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    if not 0.1 <= args.split <= 0.9:
        raise InputError(f"--split: {args.split} is not between 0.1 and 0.9")
    config = load_config(None, args.overrides)
    clip = track_clip(args.clip, args.clip.stem, config, max_frames=args.frames)
    if args.bank:
        banks = [track_clip(p, p.stem, config, max_frames=args.frames) for p in args.bank]
        drives = clip
        ref = clip.reference_index(config.eval.reference_frame)
    else:
        cut = int(num_frames(clip) * args.split)
        before, after = clip.valid.copy(), clip.valid.copy()
        before[cut:], after[:cut] = False, False
        banks = [dataclasses.replace(clip, valid=before)]
        drives = dataclasses.replace(clip, valid=after)
        ref = banks[0].reference_index(config.eval.reference_frame)
    bank = clips_bank(banks)
    frames = [int(i) for i in np.flatnonzero(drives.valid) if i != ref]
    if not frames:
        raise InputError(f"{args.clip}: no frame with a face left to drive")
    xy_all = clip.landmarks_crop[frames]
    gaps = np.linalg.norm(xy_all[:, 13, :2] - xy_all[:, 14, :2], axis=1)
    heights = np.mean([np.ptp(xy_all[:, rows, 1], axis=1) for rows in EYE_ROWS], axis=0)
    wide, narrow = gaps >= np.quantile(gaps, 2 / 3), heights <= np.quantile(heights, 0.2)
    print(
        f"{args.clip.stem}: bank {len(bank)} frames, reference {ref}, {len(frames)} drives "
        f"({int(wide.sum())} with the widest lip gap, {int(narrow.sum())} the narrowest eyes)"
    )
    for name, renderer in _renderers(config, args.renderers).items():
        renderer.set_target(clip.crops[ref], clip.landmarks_crop[ref])
        bank.reset()
        rows, strip = [], []
        for n, f in enumerate(frames):
            xy, truth = clip.landmarks_crop[f], clip.crops[f]
            image = renderer.render(xy).copy()
            banked = paste(image.copy(), bank.patches(xy, image))
            rows.append((*scores(image, truth, xy), *scores(banked, truth, xy)))
            if args.out and n % max(1, len(frames) // 8) == 0:
                strip.append(np.hstack([truth, image, banked]))
        s = np.array(rows)
        print(
            f"  {name:18s} mouth SSIM {s[:, 0].mean():.4f} -> {s[:, 2].mean():.4f}; widest "
            f"third {s[wide, 0].mean():.4f} -> {s[wide, 2].mean():.4f}"
        )
        print(
            f"  {name:18s} eyes SSIM {s[:, 1].mean():.4f} -> {s[:, 3].mean():.4f}; narrowest "
            f"fifth {s[narrow, 1].mean():.4f} -> {s[narrow, 3].mean():.4f}"
        )
        if args.out and strip:
            args.out.mkdir(parents=True, exist_ok=True)
            label = f"{args.clip.stem}_{name.replace(':', '_')}.png"
            cv2.imwrite(
                str(args.out / label), cv2.cvtColor(np.vstack(strip[:8]), cv2.COLOR_RGB2BGR)
            )
    return 0


if __name__ == "__main__":
    from lab import run_tool

    run_tool(main, "face_bank")
