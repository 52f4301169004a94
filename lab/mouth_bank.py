"""A bank of the person's own mouths: `python -m lab.mouth_bank CLIP [--bank CLIP ...]`.

An experiment for personal avatars (issue 87). A target's own video holds its real open mouths,
teeth and tongue; the renderers draw an open mouth as a painted cavity. Here the drive's mouth is
drawn by the bank frame whose mouth shape is nearest (inner and outer lips about their centre),
warped to the drive's landmarks with no painted cavity, moved to the rendered face's colour
around the mouth, and feathered in over the outer lips.

Self-reenactment, scored in the aligned crop: each drive frame's own landmarks drive a reference
frame, and the mouth box of the output is compared with the real frame (SSIM). Two settings:
- `--split F` (no `--bank`): one recording, as a user's avatar video is. The bank and the
  reference come from the clip's first F, the drives from the rest.
- `--bank CLIP ...`: the bank from other recordings of the person; the reference is the
  clip's own (`eval.reference_frame`), as `reenact eval --avatar` drives it.

Prints the mouth SSIM of each renderer without and with the bank (all drive frames, and the
third with the widest lip gap); `--out DIR` writes a strip (truth, renderer, with the bank) per
renderer. The bank is what `reenact avatar train` keeps (`reenact.render.mouth_bank`).
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
from reenact.render.mouth_bank import OUTER, MouthBank, cut_to_mouth, pick

BOX_PAD = 0.35  # the scored box: the outer lips and this share of their size on each side


def clips_bank(clips: list[TrackedClip]) -> MouthBank:
    """The bank `reenact avatar train` keeps (`pick`, `cut_to_mouth`), from the clips' frames."""
    pool = [(clip, int(i)) for clip in clips for i in np.flatnonzero(clip.valid)]
    if not pool:
        raise InputError("mouth bank: no frame with a face in the bank's clips")
    chosen = [pool[k] for k in pick(np.stack([c.landmarks_crop[i] for c, i in pool]))]
    crops = np.stack([cut_to_mouth(c.crops[i], c.landmarks_crop[i]) for c, i in chosen])
    return MouthBank(crops, np.stack([c.landmarks_crop[i] for c, i in chosen]))


def mouth_box(xy: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """The scored box: the outer lips with BOX_PAD of their size (and 4 px) on each side."""
    points = xy[OUTER, :2]
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    px, py = (x1 - x0) * BOX_PAD, (y1 - y0) * BOX_PAD + 4
    box = (x0 - px, y0 - py, x1 + px, y1 + py)
    x0, y0, x1, y1 = (int(np.clip(round(v), 0, size)) for v in box)
    return x0, y0, x1, y1


def mouth_ssim(image: np.ndarray, truth: np.ndarray, xy: np.ndarray) -> float:
    x0, y0, x1, y1 = mouth_box(xy, truth.shape[0])
    return float(
        structural_similarity(
            image[y0:y1, x0:x1], truth[y0:y1, x0:x1], channel_axis=2, data_range=255
        )
    )


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
        help="other recordings of the person to keep mouths from",
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
        cut = int(clip.num_frames * args.split)
        before, after = clip.valid.copy(), clip.valid.copy()
        before[cut:], after[:cut] = False, False
        banks = [dataclasses.replace(clip, valid=before)]
        drives = dataclasses.replace(clip, valid=after)
        ref = banks[0].reference_index(config.eval.reference_frame)
    bank = clips_bank(banks)
    frames = [int(i) for i in np.flatnonzero(drives.valid) if i != ref]
    if not frames:
        raise InputError(f"{args.clip}: no frame with a face left to drive")
    gaps = np.array(
        [
            np.linalg.norm(clip.landmarks_crop[f, 13, :2] - clip.landmarks_crop[f, 14, :2])
            for f in frames
        ]
    )
    wide = gaps >= np.quantile(gaps, 2 / 3)
    print(
        f"{args.clip.stem}: bank {len(bank)} frames, reference {ref}, "
        f"{len(frames)} drives ({int(wide.sum())} with the widest lip gap)"
    )
    for name, renderer in _renderers(config, args.renderers).items():
        renderer.set_target(clip.crops[ref], clip.landmarks_crop[ref])
        bank.reset()
        scores, strip = [], []
        for n, f in enumerate(frames):
            xy, truth = clip.landmarks_crop[f], clip.crops[f]
            image = renderer.render(xy).copy()
            banked = paste(image.copy(), [bank.patch(xy, image)])
            scores.append((mouth_ssim(image, truth, xy), mouth_ssim(banked, truth, xy)))
            if args.out and n % max(1, len(frames) // 8) == 0:
                strip.append(np.hstack([truth, image, banked]))
        s = np.array(scores)
        print(
            f"  {name:18s} mouth SSIM {s[:, 0].mean():.4f} -> {s[:, 1].mean():.4f} with the "
            f"bank; widest third {s[wide, 0].mean():.4f} -> {s[wide, 1].mean():.4f}"
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

    run_tool(main, "mouth_bank")
