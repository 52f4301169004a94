"""The self-reenactment pass of `reenact eval --avatar` (`reenact_lab.eval.avatar_eval`).

Each clip of the avatar's person (`eval.clips`, and the held-out tails of its training clips) is
driven from two sources: the avatar's own picture and the clip's reference frame. Every other
frame's own landmarks drive the source through every renderer and the real frame is the truth
(`self_reenact.drive_and_score`: in the aligned crop and composited into the real frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reenact.config import Config
from reenact.errors import InputError
from reenact_lab.eval.avatar_tail import TailClip, track_tail
from reenact.landmarks.clips import TrackedClip, track_clip
from reenact_lab.eval.plots import sample_strip
from reenact_lab.eval.renderers import EvalRenderer
from reenact_lab.eval.self_reenact import FrameScores, drive_and_score
from reenact_lab.eval.tracked import deviation, frame_bar, pick_spread
from reenact_lab.eval.viewer import SelfFrameScorer
from reenact.pipeline.blend import compositor_options
from reenact.pipeline.composite import face_mask
from reenact.pipeline.target import PreparedTarget

SOURCES = ("avatar picture", "clip reference")


@dataclass
class SelfRun:
    """One clip driven from one source: per-renderer scores and the strip's crops."""

    clip: str
    source: str
    frames: list[int]
    scores: dict[str, FrameScores]
    strip_frames: list[int]
    strip: dict[str, list[np.ndarray]] = field(default_factory=dict)
    truth: list[np.ndarray] = field(default_factory=list)
    source_crop: np.ndarray | None = None

    def to_json(self) -> dict:
        return {
            "clip": self.clip,
            "source": self.source,
            "frames_evaluated": len(self.frames),
            "first_frame": min(self.frames, default=None),
            "last_frame": max(self.frames, default=None),
            "renderers": {n: s.means() for n, s in self.scores.items()},
        }


def self_from(
    clip: TrackedClip,
    source: str,
    source_crop: np.ndarray,
    source_landmarks: np.ndarray,
    renderers: list[EvalRenderer],
    config: Config,
    *,
    skip: int | None = None,
    bar=None,
) -> SelfRun:
    """Every valid frame of `clip` (but `skip`) drives `source_crop` (S,S,3) with its own aligned
    landmarks through every renderer, scored against the real frame (crop and composite)."""
    frames = [int(i) for i in np.flatnonzero(clip.valid) if i != skip]
    if not frames:
        raise InputError(f"{clip.path}: no frame with a face left to reenact")
    size = clip.crops.shape[1]
    drives = clip.landmarks_crop[frames]
    masks = {f: face_mask(clip.landmarks_crop[f], size) > 0.5 for f in frames}
    strip_frames = pick_spread(
        np.array(frames), deviation(drives, source_landmarks), config.eval.strip_frames
    )
    run = SelfRun(
        clip.name,
        source,
        frames,
        {},
        strip_frames,
        truth=[clip.crops[f] for f in strip_frames],
        source_crop=source_crop,
    )
    options = compositor_options(config)
    for item in renderers:
        renderer: Any = item.renderer
        renderer.set_target(source_crop, source_landmarks)
        if source == SOURCES[0] and getattr(renderer, "avatar", None) is not None:
            renderer.set_avatar(renderer.avatar)  # its own picture: as `--target X.avatar` runs
        viewer = SelfFrameScorer(clip, options)
        scores, kept = drive_and_score(
            item, clip, frames, drives, masks, set(strip_frames), bar, viewer=viewer
        )
        run.scores[item.name] = scores
        run.strip[item.name] = [kept[f] for f in strip_frames]
    return run


def self_runs(
    clip: TrackedClip,
    target: PreparedTarget,
    renderers: list[EvalRenderer],
    config: Config,
    progress: bool,
    *,
    reference: int,
) -> list[SelfRun]:
    """The clip driven from the avatar's picture (`target`) and from its own reference frame."""
    ref = clip.reference_index(reference)
    runs = []
    total = 2 * int(clip.valid.sum()) * len(renderers)
    with frame_bar(progress, f"self {clip.name}", total) as bar:
        runs.append(
            self_from(
                clip, SOURCES[0], target.crop, target.landmarks_crop, renderers, config, bar=bar
            )
        )
        runs.append(
            self_from(
                clip,
                SOURCES[1],
                clip.crops[ref],
                clip.landmarks_crop[ref],
                renderers,
                config,
                skip=ref,
                bar=bar,
            )
        )
    return runs


def self_pass(
    clips: list[tuple[Path, str]],
    tails: list[TailClip],
    target: PreparedTarget,
    renderers: list[EvalRenderer],
    config: Config,
    progress: bool,
) -> list[SelfRun]:
    """`self_runs` of each (path, name) in `clips`, then of each training clip's held-out tail."""
    runs: list[SelfRun] = []
    for path, name in clips:
        clip = track_clip(path, name, config, max_frames=config.eval.max_frames)
        runs += self_runs(
            clip, target, renderers, config, progress, reference=config.eval.reference_frame
        )
    for tail in tails:
        clip = track_tail(tail, config)
        runs += self_runs(clip, target, renderers, config, progress, reference=tail.first)
    return runs


def self_strips(runs: list[SelfRun], out_dir: Path) -> dict[str, str]:
    """Each run's strip written under `out_dir / "strips"`: {what it shows: its relative path}."""
    files = {}
    for run in runs:
        key = f"{run.clip}_{run.source.replace(' ', '_')}"
        rows = run.strip_frames
        columns: dict[str, list] = {
            f"source ({run.source})": [run.source_crop] * len(rows),
            "ground truth": run.truth,
            **run.strip,
        }
        path = sample_strip(
            columns,
            out_dir / "strips" / f"avatar_self_{key}.png",
            row_labels=[f"frame {f}" for f in rows],
        )
        files[f"self: {run.clip} from the {run.source}"] = str(path.relative_to(out_dir))
    return files
