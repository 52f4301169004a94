"""How real a drawn blink looks: `python -m lab.shut_eyes CLIP [CLIP ...]`.

Self-reenactment of a real clip's closing eyes, judged against the clip's own frames. Each clip
is tracked as `reenact eval` tracks it (video mode, each frame aligned and cropped on its eyes).
Its reference frame is the one, among its first 60 with a face, whose eye openings are nearest
their median over the clip (an open, typical eye). Then up to `--per-kind` frames of each kind
are picked, evenly spread:

- shut: both eyes open less than 0.35 of the reference's lid gap;
- half: the eyes open 0.35-0.75 of it on average, neither above 0.85.

Each renderer draws every picked frame from the reference crop, with that frame's own landmarks,
and the drawing is scored against the real frame by SSIM over the two eye boxes
(`reenact_lab.metrics.sharpness.eye_boxes`: each eye's contour padded by 30 %, lids and lashes). The
renderers are the eval's (`warp`, `generator:shipped`) and, as the baseline a lid painter has to
beat, `warp:stretched`: the warp without its eye keeper, lid and iris painters, which closes an
eye by squashing it.

Measured when written (`python -m lab.shut_eyes ../shared/media/clips/*`, the first
300 frames of each of the 66 clips; 358 shut and 483 half-shut frames): shut 0.746 (warp) /
0.751 (generator) against 0.647 (stretched); half 0.736 / 0.741 against 0.704. Stop 73 (the lid
moving with its eye and, shut, reaching up to its fold, `reenact.render.lids`): shut 0.746 ->
0.748 (warp) and 0.751 -> 0.753 (generator), half 0.739 -> 0.739 and 0.743 -> 0.744. A clip
that cannot be read, or shows no face, is skipped with a line on stderr; if every clip is, that
is the error (exit 2).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reenact.config import load_config
from lab import each_readable

REFERENCE_FROM = 60  # the reference is picked among the first this many frames with a face
SHUT, HALF, HALF_MOST = 0.35, (0.35, 0.75), 0.85  # shares of the reference's lid gap
KINDS = ("shut", "half")


def openings(landmarks_crop: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(T,2) each frame's lid gap of eye 0 and 1 in crop pixels (NaN without a face)."""
    from reenact.render.eyes import eye_opening

    out = np.full((len(valid), 2), np.nan)
    for i in np.flatnonzero(valid):
        out[i] = [eye_opening(landmarks_crop[i, :, :2], eye) for eye in (0, 1)]
    return out


def pick_frames(gaps: np.ndarray, per_kind: int) -> tuple[int, dict[str, list[int]]]:
    """The reference frame and {kind: frame indices} (module docstring) from (T,2) lid gaps."""
    seen = np.flatnonzero(np.isfinite(gaps).all(axis=1))
    if len(seen) == 0:
        raise ValueError("no frame with a face")
    typical = np.nanmedian(gaps[seen], axis=0)
    first = seen[:REFERENCE_FROM]
    reference = int(first[np.argmin(np.abs(gaps[first] / np.maximum(typical, 1e-3) - 1).sum(1))])
    share = gaps / np.maximum(gaps[reference], 1e-3)
    most, mean = share.max(axis=1), share.mean(axis=1)
    found = {
        "shut": [int(i) for i in seen if most[i] < SHUT],
        "half": [int(i) for i in seen if HALF[0] <= mean[i] < HALF[1] and most[i] < HALF_MOST],
    }
    return reference, {kind: _spread(frames, per_kind) for kind, frames in found.items()}


def _spread(frames: list[int], most: int) -> list[int]:
    """At most `most` of `frames`, evenly spread over them."""
    if len(frames) <= most:
        return frames
    return [frames[int(k)] for k in np.linspace(0, len(frames) - 1, most).round()]


def eye_ssim(drawn: np.ndarray, real: np.ndarray, landmarks: np.ndarray) -> float:
    """Mean SSIM over the two eye boxes of `landmarks` (478,2|3 crop pixels of the real frame)."""
    from reenact_lab.metrics.image import ssim_map
    from reenact_lab.metrics.sharpness import eye_boxes

    scores = ssim_map(drawn, real)
    return float(
        np.mean(
            [scores[y0:y1, x0:x1].mean() for x0, y0, x1, y1 in eye_boxes(landmarks, real.shape[0])]
        )
    )


@dataclass
class ClipScores:
    """One clip: its reference frame, the frames picked per kind, and per renderer and kind the
    eye-box SSIM of each picked frame's drawing."""

    name: str
    reference: int
    frames: dict[str, list[int]]
    scores: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def score_clip(clip, renderers: dict, per_kind: int = 12) -> ClipScores:
    """Draw the picked frames of a `reenact.landmarks.clips.TrackedClip` with each of `renderers`
    ({name: renderer with set_target(crop, landmarks) and render(landmarks)})."""
    reference, frames = pick_frames(openings(clip.landmarks_crop, clip.valid), per_kind)
    result = ClipScores(clip.name, reference, frames)
    for name, renderer in renderers.items():
        renderer.set_target(clip.crops[reference], clip.landmarks_crop[reference])
        result.scores[name] = {
            kind: [
                eye_ssim(
                    np.asarray(renderer.render(clip.landmarks_crop[i])),
                    clip.crops[i],
                    clip.landmarks_crop[i],
                )
                for i in picked
            ]
            for kind, picked in frames.items()
        }
    return result


def _renderers(config, names: list[str]) -> dict:
    from reenact_lab.eval.renderers import build_eval_renderers, chosen_renderers
    from reenact.render.warp import WarpRenderer

    found = {r.name: r.renderer for r in build_eval_renderers(config, []) if r.name != "identity"}
    found["warp:stretched"] = WarpRenderer(size=config.renderer.size, keep_eyes=False)
    return chosen_renderers(found, names)


def main(argv: list[str] | None = None) -> int:
    from reenact.landmarks.clips import track_clip

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="+", type=Path, help="real video clips of a face")
    parser.add_argument("--frames", type=int, default=300, help="first frames tracked (300)")
    parser.add_argument("--per-kind", type=int, default=12, help="frames drawn per kind (12)")
    parser.add_argument(
        "--renderers",
        nargs="*",
        default=[],
        help="of warp, generator:shipped, warp:stretched (default: all)",
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    config = load_config(None, args.overrides)
    renderers = _renderers(config, args.renderers)
    totals = {name: {kind: [] for kind in KINDS} for name in renderers}
    print(f"{'clip':28s} {'renderer':18s} {'shut (n)':>14s} {'half (n)':>14s}")
    clips = each_readable(
        args.clips, lambda p: track_clip(p, p.stem, config, max_frames=args.frames), "shut_eyes"
    )
    for _, clip in clips:
        result = score_clip(clip, renderers, args.per_kind)
        for name, kinds in result.scores.items():
            cells = []
            for kind in KINDS:
                totals[name][kind] += kinds[kind]
                cells.append(
                    f"{np.mean(kinds[kind]):.3f} ({len(kinds[kind]):2d})"
                    if kinds[kind]
                    else "     - ( 0)"
                )
            print(f"{result.name:28s} {name:18s} {cells[0]:>14s} {cells[1]:>14s}")
    for name, kinds in totals.items():
        cells = [
            f"{np.mean(v):.3f} ({len(v):3d})" if v else "     - (  0)"
            for v in (kinds[k] for k in KINDS)
        ]
        print(f"{'all':28s} {name:18s} {cells[0]:>14s} {cells[1]:>14s}")
    return 0


if __name__ == "__main__":
    from lab import run_tool

    run_tool(main, "shut_eyes")
