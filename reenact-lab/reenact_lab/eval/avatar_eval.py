"""`reenact eval --avatar NAME.avatar`: how much an avatar's personal generator adds.

    report = run_avatar_eval(config, "me.avatar", actors=["actor.mp4"])

Four renderers on the same frames (`reenact_lab.eval.renderers`): the unchanged target, the
training-free warp, the shipped generator and the avatar's personal generator
(`avatar_renderers`). Three passes:

1. Self-reenactment (`reenact_lab.eval.avatar_self`) on `eval.clips` (other clips of the avatar's
   person, never trained on) and on the held-out tail of each clip the avatar was trained on (`reenact_lab.eval.avatar_tail`), each
   driven from two sources: the avatar's own picture (what a user gets: the truth is then another
   frame of the person, often in other light) and the clip's reference frame (`eval.reference_frame`,
   the clip's own light: what the network adds, not the light). Every other frame's own
   landmarks drive the source and the real frame is the truth, compared in the aligned crop
   (`self_reenact.compare`: SSIM, SSIM in the face mask, PSNR, L1) and composited into the real
   frame (`viewer.SelfFrameScorer`: seam, sharpness, mouth and eye SSIM, HaarPSI).
2. Cross-reenactment: each actor clip drives the avatar's picture through the live path
   (`cross_reenact.evaluate_cross`: identity kept, expression, gaze and blinks carried).
3. Strips of both (`plots.sample_strip`) and the report (`reenact_lab.eval.avatar_report`):
   avatar.json, avatar.md, avatar.html under `eval.out_dir`.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reenact import __version__
from reenact.config import Config, dump_config
from reenact.engine.shipped import shipped_weights
from reenact.errors import InputError, WeightsError
from reenact_lab import get_logger
from reenact_lab.eval.avatar_report import avatar_html, avatar_markdown
from reenact_lab.eval.avatar_self import self_from, self_pass, self_strips
from reenact_lab.eval.avatar_tail import TailClip, tail_clips
from reenact.landmarks.clips import TrackedClip, track_clip
from reenact_lab.eval.cross_reenact import evaluate_cross
from reenact_lab.eval.drive import make_probe
from reenact_lab.eval.files import atomic_write_json, atomic_write_text, resolve_input, unique_names
from reenact_lab.eval.identity import IdentityEmbedder
from reenact_lab.eval.plots import sample_strip
from reenact_lab.eval.renderers import EvalRenderer, IdentityRenderer
from reenact_lab.eval.tracked import frame_bar
from reenact.fusion import build_fuser
from reenact.pipeline.target import PreparedTarget, prepare_target_image
from reenact.render.warp import WarpRenderer, build_warp

if TYPE_CHECKING:
    from reenact.avatar import Avatar

log = get_logger(__name__)

__all__ = [
    "PERSONAL",
    "SHIPPED",
    "AvatarTarget",
    "avatar_renderers",
    "run_avatar_eval",
    "self_from",
]

SHIPPED = "generator:shipped"
PERSONAL = "generator:personal"


@dataclass
class AvatarTarget:
    """The avatar as a target, prepared as `--target X.avatar` prepares it (its stored neutral in
    place of a fresh estimate), and the same target without the avatar (`plain`): the live loop
    runs a target's avatar on any generator renderer, the shipped one included."""

    target: PreparedTarget
    plain: PreparedTarget
    name: str

    @classmethod
    def of(cls, avatar, config: Config) -> AvatarTarget:
        name = Path(avatar.path).stem
        target = prepare_target_image(
            name, avatar.picture, config, source_name=str(avatar.path), avatar=avatar
        )
        return cls(target, dataclasses.replace(target, avatar=None), name)


def avatar_renderers(avatar, config: Config) -> list[EvalRenderer]:
    """identity (the avatar's picture unchanged), warp, the shipped generator and the avatar's
    personal generator, in that order; WeightsError when no generator is shipped at this size."""
    from reenact.render.generator import load_generator_renderer

    size = config.renderer.size
    shipped = shipped_weights("generator", size)
    if shipped is None:
        raise WeightsError(
            f"no shipped generator for renderer.size={size}: the avatar's "
            "generator is measured against it"
        )
    personal = load_generator_renderer(shipped, config)
    personal.set_avatar(avatar)  # the avatar's weights, eyes and mouth as `--target` runs them
    return [
        EvalRenderer("identity", "identity", IdentityRenderer(size=size)),
        EvalRenderer(
            WarpRenderer.name,
            WarpRenderer.name,
            build_warp(config),
        ),
        EvalRenderer(
            SHIPPED, "generator", load_generator_renderer(shipped, config), weights=str(shipped)
        ),
        EvalRenderer(PERSONAL, "generator", personal, weights=str(avatar.path)),
    ]


def _cross(
    clip: TrackedClip, avatar_target: AvatarTarget, renderers, fuser, config: Config, probe, bar
):
    """`evaluate_cross` of the personal generator on the avatar's target and of the others on the
    same target without its avatar (which would otherwise run on the shipped renderer too),
    merged; the actor's re-tracked frames are shared."""
    known: dict = {}
    common = dict(portrait=avatar_target.name, probe=probe, bar=bar, actor_known=known)
    others = [r for r in renderers if r.name != PERSONAL]
    mine = [r for r in renderers if r.name == PERSONAL]
    result = evaluate_cross(clip, avatar_target.plain, others, fuser, config, **common)
    personal = evaluate_cross(clip, avatar_target.target, mine, fuser, config, **common)
    result.drives.update(personal.drives)
    result.carried.update(personal.carried)
    result.strip_frames = [f for f in result.strip_frames if f in personal.strip_frames]
    return result


def _cross_strip(result, clip: TrackedClip, target_crop: np.ndarray, out_dir: Path) -> Path:
    rows = result.strip_frames
    columns: dict[str, list] = {
        "actor": [clip.crops[f] for f in rows],
        "avatar picture": [target_crop] * len(rows),
        **{n: [d.strip[f] for f in rows] for n, d in result.drives.items()},
    }
    return sample_strip(
        columns,
        out_dir / "strips" / f"avatar_cross_{clip.name}.png",
        row_labels=[f"frame {f}" for f in rows],
    )


def _meta(
    config: Config,
    avatar,
    renderers,
    clips: dict,
    actors: dict,
    tails: list[TailClip],
    tail_note: str,
) -> dict:
    manifest = avatar.manifest
    return {
        "reenact_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "avatar": str(avatar.path),
        "avatar_manifest": {
            k: manifest.get(k)
            for k in ("reenact_version", "steps", "minutes", "device", "validation", "created")
            if k in manifest
        },
        "clips": clips,
        "actors": actors,
        "tail": [t.to_json() for t in tails],
        "tail_note": tail_note,
        "renderers": {
            r.name: {
                "kind": r.kind,
                "weights": r.weights,
                "backend": getattr(r.renderer, "backend_name", "numpy/cv2"),
            }
            for r in renderers
        },
        "crop_size": config.renderer.size,
        "max_frames": config.eval.max_frames,
        "reference_frame": config.eval.reference_frame,
        "eyes_mouth": {
            "renderer.eyes": config.renderer.eyes,
            "renderer.mouth": config.renderer.mouth,
        },
    }


def run_avatar_eval(
    config: Config,
    avatar_path: str,
    *,
    actors: list[str] | tuple = (),
    progress: bool | None = None,
) -> dict:
    """Measure the avatar at `avatar_path` on `config.eval.clips` (may be empty when the tail
    alone is wanted), its training clips' held-out tails and `actors`; write the report into
    `config.eval.out_dir`; return it (as written to avatar.json).

    InputError / WeightsError (one line naming the file) for a missing or damaged avatar, clip
    or actor, before any long work."""
    progress = config.eval.progress if progress is None else progress
    avatar, clip_paths, actor_paths, tails, tail_note = _inputs(config, avatar_path, actors)
    out_dir = Path(config.eval.out_dir)
    renderers = avatar_renderers(avatar, config)
    avatar_target = AvatarTarget.of(avatar, config)
    clips = list(zip(clip_paths, unique_names(clip_paths)))
    runs = self_pass(clips, tails, avatar_target.target, renderers, config, progress)
    files = self_strips(runs, out_dir)
    crosses, cross_files = _cross_pass(
        actor_paths, avatar_target, renderers, config, progress, out_dir
    )
    files.update(cross_files)
    report = {
        "meta": _meta(
            config,
            avatar,
            renderers,
            {n: str(p) for p, n in clips},
            {n: str(p) for n, p in zip(unique_names(actor_paths), actor_paths)},
            tails,
            tail_note,
        ),
        "self_reenactment": [run.to_json() for run in runs],
        "cross_reenactment": crosses,
        "files": files,
    }
    _write_report(report, config, out_dir)
    return report


def _inputs(
    config: Config, avatar_path: str, actors: list[str] | tuple
) -> tuple[Avatar, list[Path], list[Path], list[TailClip], str]:
    """(avatar, clip paths, actor paths, tails, tail note), each found and read, or one
    InputError line naming what is missing or damaged."""
    from reenact.avatar import read_avatar

    avatar = read_avatar(resolve_input(avatar_path, "avatar"))
    clip_paths = [resolve_input(c, "clip") for c in config.eval.clips]
    actor_paths = [resolve_input(a, "actor clip") for a in actors]
    tails, tail_note = tail_clips(avatar.manifest, clip_paths)
    if not clip_paths and not tails and not actor_paths:
        raise InputError(
            f"{avatar_path}: nothing to measure: pass --clips (other clips of the "
            f"person) or --actors; {tail_note}"
        )
    return avatar, clip_paths, actor_paths, tails, tail_note


def _write_report(report: dict, config: Config, out_dir: Path) -> None:
    """avatar.json, avatar.md, avatar.html and the config, each written atomically."""
    atomic_write_json(out_dir / "avatar.json", report)
    atomic_write_text(out_dir / "avatar.md", avatar_markdown(report))
    atomic_write_text(out_dir / "avatar.html", avatar_html(report))
    dump_config(config, out_dir / "config.yaml")


def _cross_pass(
    actor_paths: list[Path],
    avatar_target: AvatarTarget,
    renderers: list[EvalRenderer],
    config: Config,
    progress: bool,
    out_dir: Path,
) -> tuple[dict, dict[str, str]]:
    """Each actor clip drives the avatar (`_cross`): ({actor: its row}, {strip: its path})."""
    crosses: dict = {}
    files: dict[str, str] = {}
    if not actor_paths:
        return crosses, files
    fuser = build_fuser(config)
    embedder = IdentityEmbedder()
    target = avatar_target.target
    probe = make_probe(embedder, target)
    for path, name in zip(actor_paths, unique_names(actor_paths)):
        clip = track_clip(
            path,
            name,
            config,
            max_frames=config.eval.max_frames,
            whole_frames=config.eval.carried_frames,
        )
        with frame_bar(progress, f"cross {name} -> avatar") as bar:
            result = _cross(clip, avatar_target, renderers, fuser, config, probe, bar)
        crosses[name] = result.to_json()[0]
        files[f"cross: {name} drives the avatar"] = str(
            _cross_strip(result, clip, target.crop, out_dir).relative_to(out_dir)
        )
    return crosses, files
