"""Self-reenactment pairs for the learned mouth and eyes (issue 88), as npz shards outside the
repository; and the regions' table (`REGIONS`) that the trainer and the measure read.

For every clip of a prepared cache (`reenact prepare ... --format npz`, docs/DATA.md): the clip's
neutral reference R, and a second reference R2 with the region far from R's (the most open mouth;
the most closed eyes), are warped by the real `WarpRenderer` to the landmarks of other frames D.
Each part of the region (the mouth; each eye, the image-left one mirrored as
`reenact.render.learned_eyes` mirrors it) becomes one sample: its box (from the landmarks the warp
follows) is cut from R's crop at rest, the warp with the region's painters off (what the network
sees), the warp with them on (for the scores), the part's contours and D's real crop. Each sample
keeps how much its part changed, so the trainer can sample changing mouths, blinks and gazes far
more often.

    python -m lab.local_data --region mouth /work/cache/local_mouth/prepared /work/cache/local_mouth/pairs
    python -m lab.local_data --region eyes /work/cache/local_mouth/prepared /work/cache/local_eyes/pairs
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reenact.render import learned_eyes, learned_mouth, local_net
from reenact.render.corrections.apply import paint
from reenact.render.eyes import LOWER_LIDS, UPPER_LIDS
from reenact.render.learned_eyes import EYES, FLIPPED, IRISES
from reenact.render.warp import WarpRenderer

SIZE = 256
SECOND_PAIRS = 48  # pairs from the second reference (half the most changed, half random)
EYE_PAINTERS = ("irises", "lids")


def painted_off(warp: WarpRenderer, names: tuple[str, ...] = EYE_PAINTERS) -> list:
    """Take the painters `names` out of `warp`'s corrections and return them."""
    painters = [c for c in warp.corrections if c.name in names]
    warp.corrections = [c for c in warp.corrections if c.name not in names]
    return painters


@dataclass(frozen=True)
class Region:
    """What differs between the learned regions; the geometry is in the subclasses' methods."""

    name: str  # "mouth" | "eyes"
    model: str  # the weights' file stem and `kind`: local_mouth | local_eyes
    lines: str  # the key of the contour image among a sample's arrays
    parts: tuple[int, ...]  # the parts of one frame: the mouth; the two eyes
    changed: float  # px at 256: a held-out sample that changed this much counts as changed
    changed_key: str  # the validation scores' suffix for those samples
    full_draw: float  # px: a sample changed this much is drawn most often
    mirror: bool  # the trainer mirrors samples at random (the eyes come mirrored already)
    colour: float  # weight of an L1 on the network's colour itself (see EYES_REGION)
    per_clip_rng: bool  # the data builder's random draws: one generator per clip, or one for all
    best_on_all: bool  # a checkpoint is kept by the SSIM over all + changed samples, else changed
    box_name: str  # the measure's column name for the box's SSIM
    count_name: str  # the measure's name for how many samples a group holds
    groups: tuple[str, ...]  # the measure's groups (see `group`)
    strip_kinds: tuple[str, ...]  # the measure's strip: the renderers beside the real box
    strip_picks: tuple[int, int, int]  # the measure's strip: spread over, rows, zoom
    per_clip_count: bool  # the measure's per-clip table names how many samples changed

    @property
    def keys(self) -> tuple[str, ...]:
        """A sample's images, as the trainer loads them."""
        return ("rest", "warp", self.lines, "real", "painted")

    # the geometry, per region
    def shape(self, lm: np.ndarray) -> tuple[np.ndarray, ...]:
        raise NotImplementedError

    def second_ref(self, stats: tuple, good: np.ndarray, ref: int) -> int | None:
        raise NotImplementedError

    def change(self, stats: tuple, frames: np.ndarray, refs: np.ndarray) -> np.ndarray:
        """(n, parts) how much each part of frames differs from the same part of refs, px."""
        raise NotImplementedError

    def fields(self, stats: tuple, frames, refs, part) -> dict[str, np.ndarray]:
        """The per-sample stats kept beside "change" (the lid gaps for the measure's groups)."""
        raise NotImplementedError

    def box(self, follow: np.ndarray, part: int) -> Any:
        raise NotImplementedError

    def cut(self, image: np.ndarray, box: Any, part: int, mirrored: bool = True) -> np.ndarray:
        raise NotImplementedError

    def contours(self, follow: np.ndarray, part: int, box: Any) -> np.ndarray:
        raise NotImplementedError

    def warps(self) -> Any:
        """The data builder's renderer: `prepare(crop, lm)` and `render(lm) -> (follow, bare,
        painted)`."""
        raise NotImplementedError

    def measure_renderers(self, weights: Path, reach: float) -> dict[str, WarpRenderer]:
        """The measure's "painted", "bare" and "learned" renderers."""
        raise NotImplementedError

    def group(self, name: str, row: dict) -> bool:
        """Whether the measure's `row` belongs to group `name`."""
        if name == "all":
            return True
        changed = row["change"] > self.changed
        if name.startswith("closing"):
            return bool(row["gap"] < 0.5 * row["ref_gap"])
        if name.startswith("open"):
            return bool(changed and row["gap"] >= 0.5 * row["ref_gap"])
        return bool(changed)


class _MouthWarps:
    """The warp without its painted mouth (the network's input) and with it (the painters)."""

    def __init__(self) -> None:
        self.bare, self.painted = WarpRenderer(size=SIZE, fill_mouth=False), WarpRenderer(size=SIZE)

    def prepare(self, crop: np.ndarray, lm: np.ndarray) -> None:
        for w in (self.bare, self.painted):
            w.set_target(crop, lm)

    def render(self, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.bare.follow(lm), self.bare.render(lm), self.painted.render(lm)


class _EyeWarps:
    """One warp without the iris and lid painters; their overlays painted on a copy."""

    def __init__(self) -> None:
        self.warp = WarpRenderer(size=SIZE)
        self.painters = painted_off(self.warp)

    def prepare(self, crop: np.ndarray, lm: np.ndarray) -> None:
        self.warp.set_target(crop, lm)
        for p in self.painters:
            p.prepare(crop, lm)

    def render(self, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        follow = self.warp.follow(lm)
        bare = self.warp.render(lm)
        painted = bare.copy()
        for p in self.painters:
            paint(painted, p.overlay(follow))
        return follow, bare, painted


class MouthRegion(Region):
    def shape(self, lm: np.ndarray) -> tuple[np.ndarray, ...]:
        """(N,478,2+) -> lip gap (13-14) and mouth width (61-291) in crop pixels."""
        gap = np.linalg.norm(lm[:, 13, :2] - lm[:, 14, :2], axis=1)
        width = np.linalg.norm(lm[:, 61, :2] - lm[:, 291, :2], axis=1)
        return gap, width

    def second_ref(self, stats: tuple, good: np.ndarray, ref: int) -> int | None:
        gap = stats[0]
        opened = int(good[np.argmax(gap[good])])
        return opened if gap[opened] > gap[ref] + 4 else None

    def change(self, stats: tuple, frames: np.ndarray, refs: np.ndarray) -> np.ndarray:
        gap, width = stats
        return (np.abs(gap[frames] - gap[refs]) + 0.5 * np.abs(width[frames] - width[refs]))[
            :, None
        ]

    def fields(self, stats: tuple, frames, refs, part) -> dict[str, np.ndarray]:
        return {"gap": stats[0][frames].astype(np.float32)}

    def box(self, follow: np.ndarray, part: int) -> Any:
        return learned_mouth.mouth_box(follow, SIZE)

    def cut(self, image: np.ndarray, box: Any, part: int, mirrored: bool = True) -> np.ndarray:
        return local_net.cut(image, box, learned_mouth.BOX_HW)

    def contours(self, follow: np.ndarray, part: int, box: Any) -> np.ndarray:
        return (learned_mouth.contours(follow, box) * 255).astype(np.uint8)

    def warps(self) -> _MouthWarps:
        return _MouthWarps()

    def measure_renderers(self, weights: Path, reach: float) -> dict[str, WarpRenderer]:
        learned = WarpRenderer(size=SIZE, fill_mouth=False)
        learned.corrections.append(
            learned_mouth.LearnedMouth(size=SIZE, weights=weights, reach=reach)
        )
        return {
            "painted": WarpRenderer(size=SIZE),
            "bare": WarpRenderer(size=SIZE, fill_mouth=False),
            "learned": learned,
        }


class EyesRegion(Region):
    def shape(self, lm: np.ndarray) -> tuple[np.ndarray, ...]:
        """(N,478,2+) -> lid gap (N,2) and the iris centre against the eye's corners' midpoint
        (N,2,2), crop pixels, per eye (0: image-left)."""
        gaps, irises = [], []
        for eye in (0, 1):
            gap = lm[:, LOWER_LIDS[eye], 1] - lm[:, UPPER_LIDS[eye], 1]
            gaps.append(np.maximum(gap, 0).mean(axis=1))
            centre = 0.5 * (lm[:, EYES[eye][0], :2] + lm[:, EYES[eye][8], :2])
            irises.append(lm[:, IRISES[eye][0], :2] - centre)
        return np.stack(gaps, 1), np.stack(irises, 1)

    def second_ref(self, stats: tuple, good: np.ndarray, ref: int) -> int | None:
        gap = stats[0]
        shut = int(good[np.argmin(gap[good].mean(1))])
        return shut if gap[shut].mean() < gap[ref].mean() - 3 else None

    def change(self, stats: tuple, frames: np.ndarray, refs: np.ndarray) -> np.ndarray:
        """The lid gap's change plus twice the iris's move (an iris moves a few pixels at most)."""
        gap, iris = stats
        moved = np.linalg.norm(iris[frames] - iris[refs], axis=2)
        return np.abs(gap[frames] - gap[refs]) + 2 * moved

    def fields(self, stats: tuple, frames, refs, part) -> dict[str, np.ndarray]:
        gap = stats[0]
        return {
            "gap": gap[frames, part].astype(np.float32),
            "ref_gap": gap[refs, part].astype(np.float32),
        }

    def box(self, follow: np.ndarray, part: int) -> Any:
        return learned_eyes.eye_box(follow, part, SIZE)

    def cut(self, image: np.ndarray, box: Any, part: int, mirrored: bool = True) -> np.ndarray:
        return local_net.cut(image, box, learned_eyes.BOX_HW, FLIPPED[part] and mirrored)

    def contours(self, follow: np.ndarray, part: int, box: Any) -> np.ndarray:
        return (learned_eyes.contours(follow, part, box) * 255).round().astype(np.uint8)

    def warps(self) -> _EyeWarps:
        return _EyeWarps()

    def measure_renderers(self, weights: Path, reach: float) -> dict[str, WarpRenderer]:
        bare, learned = WarpRenderer(size=SIZE), WarpRenderer(size=SIZE)
        painted_off(bare)
        painted_off(learned)
        at = next(i for i, c in enumerate(learned.corrections) if c.name == "eyes") + 1
        learned.corrections.insert(at, learned_eyes.LearnedEyes(size=SIZE, weights=weights))
        return {"painted": WarpRenderer(size=SIZE), "bare": bare, "learned": learned}


MOUTH_REGION = MouthRegion(
    name="mouth",
    model="local_mouth",
    lines="lips",
    parts=(0,),
    changed=6.0,
    changed_key="moved",
    full_draw=20.0,
    mirror=True,
    colour=0.0,
    per_clip_rng=False,
    best_on_all=False,
    box_name="mouth",
    count_name="pairs",
    groups=("all", "moved>6px"),
    strip_kinds=("painted", "learned"),
    strip_picks=(40, 10, 2),
    per_clip_count=False,
)
# colour: with the blend's loss alone the eyes' mask shut within 300 steps (mean 0.008: most of
# an eye box is skin the warp already has right) and the colour, no longer seen, stopped learning
EYES_REGION = EyesRegion(
    name="eyes",
    model="local_eyes",
    lines="lines",
    parts=(0, 1),
    changed=3.0,
    changed_key="changed",
    full_draw=8.0,
    mirror=False,
    colour=0.5,
    per_clip_rng=True,
    best_on_all=True,  # a blink is rare: the changed eyes alone would pick a noisy checkpoint
    box_name="eye",
    count_name="eyes",
    groups=("all", "changed>3px", "closing (gap < ref/2)", "open, changed"),
    strip_kinds=("painted", "bare", "learned"),
    strip_picks=(60, 12, 3),
    per_clip_count=True,
)
REGIONS: dict[str, Region] = {"mouth": MOUTH_REGION, "eyes": EYES_REGION}


def pairs_from(region: Region, ref: int, frames: np.ndarray, crops, lm, warps) -> dict[str, list]:
    """Cut every (ref, frame) pair, every part."""
    warps.prepare(crops[ref], lm[ref])
    rest = [region.cut(crops[ref], region.box(lm[ref, :, :2], p), p) for p in region.parts]
    names = ("rest", "warp", "painted", region.lines, "real", "ref", "frame")
    out: dict[str, list] = {k: [] for k in names}
    if len(region.parts) > 1:
        out["eye"] = []
    for j in frames:
        follow, bare, painted = warps.render(lm[j])
        for p in region.parts:
            box = region.box(follow, p)
            out["rest"].append(rest[p])
            out["warp"].append(region.cut(bare, box, p))
            out["painted"].append(region.cut(painted, box, p))
            out[region.lines].append(region.contours(follow, p, box))
            out["real"].append(region.cut(crops[j], box, p))
            out["ref"].append(ref)
            out["frame"].append(int(j))
            if "eye" in out:
                out["eye"].append(p)
    return out


def clip_pairs(
    region: Region, path: Path, rng: np.random.Generator, every: int = 1
) -> dict[str, np.ndarray] | None:
    d = np.load(path, allow_pickle=False)
    good = np.flatnonzero(d["valid"])
    if len(good) < 4:
        return None
    lm, crops = d["landmarks"], d["crops"]
    ref = int(d["reference"]) if int(d["reference"]) in good else int(good[0])
    stats = region.shape(np.nan_to_num(lm))
    warps = region.warps()
    others = good[good != ref]
    parts = [pairs_from(region, ref, others[::every], crops, lm, warps)]
    second = region.second_ref(stats, good, ref)
    if second is not None:
        rest = good[good != second]
        score = region.change(stats, rest, np.full(len(rest), second)).sum(1)
        top = rest[np.argsort(-score)[: SECOND_PAIRS // 2]]
        left = np.setdiff1d(rest, top)
        extra = rng.choice(left, min(len(left), SECOND_PAIRS // 2), replace=False)
        parts.append(pairs_from(region, second, np.concatenate([top, extra]), crops, lm, warps))
    merged = {k: np.stack([v for p in parts for v in p[k]]) for k in parts[0]}
    refs, frames = merged["ref"], merged["frame"]
    part = merged.get("eye", np.zeros(len(frames), dtype=np.int64))
    moved = region.change(stats, frames, refs)
    merged["change"] = moved[np.arange(len(frames)), part].astype(np.float32)
    return merged | region.fields(stats, frames, refs, part)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--region", choices=sorted(REGIONS), required=True)
    parser.add_argument("--every", type=int, default=1, help="use every n-th frame from R")
    parser.add_argument("--part", default="0/1", help="k/n: this process takes clips k, k+n, ...")
    args = parser.parse_args()
    region = REGIONS[args.region]
    args.out.mkdir(parents=True, exist_ok=True)
    index = json.loads((args.cache / "index.json").read_text())
    k, n = (int(v) for v in args.part.split("/"))
    shared_rng = np.random.default_rng(0)
    for i, entry in enumerate(index["entries"]):
        shard = args.out / f"{entry['name']}.npz"
        if i % n != k or shard.exists():
            continue
        rng = np.random.default_rng(i) if region.per_clip_rng else shared_rng
        pairs = clip_pairs(region, args.cache / f"{entry['name']}.npz", rng, args.every)
        if pairs is None:
            print(entry["name"], "skipped", flush=True)
            continue
        tmp = shard.with_name(shard.stem + ".tmp.npz")
        np.savez(tmp, identity=entry["identity"], **pairs)
        tmp.rename(shard)
        print(entry["name"], len(pairs["frame"]), flush=True)


if __name__ == "__main__":
    main()
