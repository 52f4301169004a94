"""`reenact eval`: every renderer on the same clips and portraits, one report.

    result = run_eval(config)          # config.eval: clips, portraits, generators, out_dir, ...

1. Self-reenactment (`reenact_lab.eval.self_reenact`) on each clip.
2. Cross-reenactment (`reenact_lab.eval.cross_reenact`): each clip drives each portrait through the
   live path.
3. Temporal figures (`reenact_lab.eval.temporal`) of each cross output and of the driving clip.
4. The report (`reenact_lab.eval.report`): `report.json` (every number, per-frame curves included),
   `report.md` (tables), `report.html` (tables, plots and strips on one page, `eval.html`),
   `plots/*.png` (per-frame curves), `strips/*.png` (sample frames) and the resolved
   `config.yaml`, all under `eval.out_dir`, each file written atomically.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from pathlib import Path

from reenact import __version__
from reenact.config import Config, dump_config
from reenact.errors import InputError
from reenact_lab import get_logger
from reenact_lab.eval import gaze_sweep, head_shift, head_sweep, move_sweep
from reenact.landmarks.clips import TrackedClip, frames_to_read, track_clip
from reenact_lab.eval.cross_reenact import CrossResult, evaluate_cross
from reenact_lab.eval.drive import make_probe, whole_frames
from reenact_lab.eval.files import atomic_write_json, atomic_write_text, resolve_input, unique_names
from reenact_lab.eval.html import report_html
from reenact_lab.eval.identity import IdentityEmbedder
from reenact_lab.eval.plots import plot_cross, plot_self_ssim, sample_strip
from reenact_lab.eval.renderers import EvalRenderer, build_eval_renderers, generator_paths
from reenact_lab.eval.report import markdown, summarize
from reenact_lab.eval.tracked import frame_bar, num_frames
from reenact_lab.eval.self_live import evaluate_self_live, live_reference
from reenact_lab.eval.self_reenact import SelfResult, evaluate_self
from reenact.fusion import build_fuser
from reenact.landmarks.tracker import FaceTracker
from reenact.pipeline.blend import compositor_options
from reenact.pipeline.target import prepare_target
from reenact.video import clip_fps

log = get_logger(__name__)

__all__ = ["EvalInputs", "EvalResult", "check_inputs", "run_eval"]


@dataclass
class EvalInputs:
    """The resolved input files, with unique short names for report keys and file names."""

    clips: list[Path]
    clip_names: list[str]
    portraits: list[Path]
    portrait_names: list[str]
    generators: list[Path]


@dataclass
class EvalResult:
    """What `run_eval` wrote: the report (as written to JSON) and the file paths."""

    out_dir: Path
    report: dict
    json_path: Path
    markdown_path: Path
    markdown: str


def check_inputs(config: Config) -> EvalInputs:
    """Every clip, portrait and generator file exists; else InputError naming the first missing."""
    e = config.eval
    if not e.clips:
        raise InputError("eval.clips is empty: pass --clips A.mp4 ... or set eval.clips")
    if not e.portraits:
        raise InputError("eval.portraits is empty: pass --portraits P.jpg ... or set "
                         "eval.portraits")
    clips = [resolve_input(c, "clip") for c in e.clips]
    for clip in clips:
        clip_fps(clip)  # opens the container: an unreadable clip fails before any long work
    portraits = [resolve_input(p, "portrait") for p in e.portraits]
    generators = generator_paths(config)
    return EvalInputs(clips, unique_names(clips), portraits, unique_names(portraits), generators)


def _without(inputs: EvalInputs, skipped: dict) -> EvalInputs:
    """`inputs` less the clips named in `skipped`."""
    kept = [(p, n) for p, n in zip(inputs.clips, inputs.clip_names) if n not in skipped]
    return dataclasses.replace(inputs, clips=[p for p, _ in kept],
                               clip_names=[n for _, n in kept])


def _self_pass(inputs: EvalInputs, config: Config, renderers: list[EvalRenderer], fuser,
               progress: bool) -> tuple[list[TrackedClip], list[SelfResult], dict]:
    """Each usable clip tracked and scored on itself; also {clip name: {"path", "reason"}} of
    the clips skipped (`_track_usable`)."""
    tracked, results, skipped = [], [], {}
    for path, name in zip(inputs.clips, inputs.clip_names):
        usable = _track_usable(path, name, config, progress,
                               None if len(inputs.clips) == 1 else skipped)
        # a skip is said once some clip is usable: until then the error may yet say it
        if usable is None:
            if tracked:
                _say_skipped(name, skipped[name])
            continue
        if not tracked:
            for earlier, item in skipped.items():
                _say_skipped(earlier, item)
        clip, reference = usable
        with frame_bar(progress, f"self {name}") as bar:
            results.append(evaluate_self(clip, renderers, fuser,
                                         reference=config.eval.reference_frame,
                                         strip_count=config.eval.strip_frames, bar=bar,
                                         compositor=compositor_options(config)))
        with frame_bar(progress, f"self live {name}", num_frames(clip) * len(renderers)) as bar:
            results[-1].live = evaluate_self_live(clip, renderers, fuser, config, bar=bar,
                                                  reference=reference)
        tracked.append(clip)
    if not tracked:
        raise _none_usable(skipped)
    return tracked, results, skipped


def _track_usable(path: Path, name: str, config: Config, progress: bool,
                  skipped: dict | None):
    """(the clip tracked, its `live_reference`), or None with the clip added to `skipped`: no
    face at all, or a reference face the live loop would refuse as a target (too small,
    several); skipped None (the only clip): the InputError itself.
    Skipped rather than upscaled: a face blown up from a few dozen pixels would score the blur
    of the upscaling, not the renderers."""
    total = frames_to_read(config.eval.max_frames, config.eval.carried_frames)
    try:
        with frame_bar(progress, f"track {name}", total or None) as bar:
            clip = track_clip(path, name, config, max_frames=config.eval.max_frames,
                              whole_frames=config.eval.carried_frames, bar=bar)
        return clip, live_reference(clip, config)
    except InputError as exc:
        if skipped is None:
            raise
        skipped[name] = {"path": str(path), "reason": str(exc)}
        return None


def _say_skipped(name: str, item: dict) -> None:
    log.warning("clip %s skipped, not scored: %s", name, item["reason"])


def _none_usable(skipped: dict) -> InputError:
    """The error when every one of several clips was skipped, with each clip's reason."""
    reasons = "; ".join(item["reason"] for item in skipped.values())
    return InputError(f"eval.clips: none of the {len(skipped)} clips is usable ({reasons})")


def _cross_pass(inputs: EvalInputs, tracked: list[TrackedClip], targets: list, config: Config,
                renderers: list[EvalRenderer], fuser, progress: bool) -> list[CrossResult]:
    """Every clip drives every prepared target (`reenact.pipeline.target.PreparedTarget`)."""
    embedder = IdentityEmbedder()
    results = []
    for clip in tracked:
        actor_known: dict = {}  # the clip's frames re-tracked in static mode, for every portrait
        for target, name in zip(targets, inputs.portrait_names):
            probe = make_probe(embedder, target)
            total = whole_frames(clip) * len(renderers)
            with frame_bar(progress, f"cross {clip.name} -> {name}", total) as bar:
                results.append(evaluate_cross(clip, target, renderers, fuser, config,
                                              portrait=name, probe=probe, bar=bar,
                                              actor_known=actor_known))
    return results


def _sweep_pass(inputs: EvalInputs, targets: list, config: Config,
                renderers: list[EvalRenderer], fuser,
                out_dir: Path) -> tuple[dict, dict, dict, dict, dict]:
    """The controlled sweeps: gaze and head, each {portrait: {renderer: `gaze_sweep.sweep_gaze` /
    `head_sweep.sweep_head` without its pictures}}; the drawn moves read back, {portrait:
    {renderer: `move_sweep.sweep_moves`}}; the head-motion stage's moves, {portrait:
    `head_shift.sweep_uncovered` without its pictures} (no renderer: the stage is the same for
    all); and {label: strip path} - a strip per sweep and portrait, a column per renderer (the
    moves: a row of moved heads)."""
    found: dict = {"gaze": {}, "head": {}, "moves": {}}
    strips: dict[str, Path] = {}
    passes = (("gaze", gaze_sweep.sweep_gaze, "eyes", [f"{a:+.2f}, {b:+.2f}"
                                                        for a, b in gaze_sweep.SWEEP]),
              ("head", head_sweep.sweep_head, "faces", [f"{p:+.0f}, {y:+.0f}"
                                                         for p, y in head_sweep.SWEEP]))
    with FaceTracker(config.tracker, static=True) as retracker:
        for target, name in zip(targets, inputs.portrait_names):
            for kind, sweep, pictures, labels in passes:
                found[kind][name] = out = {
                    item.name: sweep(target, item.renderer, fuser, config, retracker)
                    for item in renderers}
                columns = {n: result.pop(pictures) for n, result in out.items()}
                strips[f"{kind} sweep: {name}"] = sample_strip(
                    columns, out_dir / "strips" / f"{kind}_sweep_{name}.png", row_labels=labels)
            found["moves"][name] = {item.name: move_sweep.sweep_moves(target, item.renderer,
                                                                      config, retracker)
                                    for item in renderers}
    shifts = {}
    for target, name in zip(targets, inputs.portrait_names):
        shifts[name] = head_shift.sweep_uncovered(target)
        frames = shifts[name].pop("frames")
        if frames:
            strips[f"head moved: {name}"] = sample_strip(
                dict(zip(head_shift.move_labels(), ([f] for f in frames))),
                out_dir / "strips" / f"head_moved_{name}.png", tile=320)
    return found["gaze"], found["head"], found["moves"], shifts, strips


def _write_pictures(out_dir: Path, selfs: list[SelfResult], tracked: list[TrackedClip],
                    crosses: list[CrossResult], target_crops: dict[str, object]) -> dict[str, str]:
    """Curves and strips; returns {label: path relative to out_dir}."""
    clips = {c.name: c for c in tracked}
    files: dict[str, Path] = {}
    for result in selfs:
        files.update(_self_pictures(out_dir, result, clips[result.clip]))
    for result in crosses:
        files.update(_cross_pictures(out_dir, result, clips[result.clip],
                                     target_crops[result.portrait]))
    return {label: str(path.relative_to(out_dir)) for label, path in files.items()}


def _self_pictures(out_dir: Path, result: SelfResult, clip: TrackedClip) -> dict[str, Path]:
    curves = {n: (s.frames, s.ssim) for n, s in result.direct.items()}
    rows = result.strip_frames
    columns = {"target (reference)": [clip.crops[result.reference]] * len(rows),
               "ground truth": [clip.crops[f] for f in rows], **result.strip}
    return {
        f"self SSIM per frame: {result.clip}": plot_self_ssim(
            curves, f"self-reenactment: {result.clip}",
            out_dir / "plots" / f"self_{result.clip}.png"),
        f"self samples: {result.clip}": sample_strip(
            columns, out_dir / "strips" / f"self_{result.clip}.png",
            row_labels=[f"frame {f}" for f in rows]),
    }


def _cross_pictures(out_dir: Path, result: CrossResult, clip: TrackedClip,
                    target_crop) -> dict[str, Path]:
    key, pair = f"{result.clip}__{result.portrait}", f"{result.clip} → {result.portrait}"
    identity = {n: (d.identity_frames, d.identity) for n, d in result.drives.items()}
    expression = {n: (d.frames, d.expression_errors()) for n, d in result.drives.items()}
    rows = result.strip_frames
    columns = {"driver": [clip.crops[f] for f in rows], "target": [target_crop] * len(rows),
               **{n: [d.strip[f] for f in rows] for n, d in result.drives.items()}}
    return {
        f"cross curves: {pair}": plot_cross(
            identity, expression, f"cross: {result.clip} drives {result.portrait}",
            out_dir / "plots" / f"cross_{key}.png"),
        f"cross samples: {pair}": sample_strip(
            columns, out_dir / "strips" / f"cross_{key}.png",
            row_labels=[f"frame {f}" for f in rows]),
    }


def _meta(config: Config, inputs: EvalInputs, renderers: list[EvalRenderer], fuser) -> dict:
    return {
        "reenact_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "clips": {n: str(p) for n, p in zip(inputs.clip_names, inputs.clips)},
        "portraits": {n: str(p) for n, p in zip(inputs.portrait_names, inputs.portraits)},
        "renderers": {r.name: {"kind": r.kind, "weights": r.weights,
                               "backend": getattr(r.renderer, "backend_name", "numpy/cv2")}
                      for r in renderers},
        "fuser": type(fuser).__name__,
        "crop_size": config.renderer.size,
        "max_frames": config.eval.max_frames,
        "carried_frames": config.eval.carried_frames,
        "carried_retracks": config.eval.carried_retracks,
        "neutral_frames": config.calibration.neutral_frames,
        "identity": {"compared_on": "the output frame cut with the portrait's alignment "
                     "(canonical crop), canonical face box, no detection",
                     "stride": config.eval.identity_stride, "same_person_below": 0.6},
        "still_frames": config.eval.still_frames,
        "psnr_cap_db": 100.0,
    }


def build_report(config: Config, inputs: EvalInputs, renderers: list[EvalRenderer], fuser,
                 selfs: list[SelfResult], crosses: list[CrossResult],
                 sweeps: dict | None = None, heads: dict | None = None,
                 shifts: dict | None = None, moves: dict | None = None,
                 skipped: dict | None = None) -> dict:
    """The report as a dict (sections meta, self_reenactment, cross_reenactment, temporal,
    gaze_sweep, head_sweep, move_sweep, head_moved, summary, skipped: {clip: {"path",
    "reason"}} of the clips not scored; `files` is filled in by the caller)."""
    paths = dict(zip(inputs.clip_names, inputs.clips))
    self_section = {r.clip: r.to_json(str(paths[r.clip])) for r in selfs}
    cross_section, temporal_section = {}, {}
    for result in crosses:
        key = f"{result.clip}__{result.portrait}"
        cross_section[key], temporal_section[key] = result.to_json()
    names = [r.name for r in renderers]
    return {
        "meta": _meta(config, inputs, renderers, fuser),
        "self_reenactment": self_section,
        "cross_reenactment": cross_section,
        "temporal": temporal_section,
        "gaze_sweep": sweeps or {},
        "head_sweep": heads or {},
        "move_sweep": moves or {},
        "head_moved": shifts or {},
        "summary": summarize(names, self_section, cross_section, temporal_section, sweeps,
                             heads),
        "skipped": skipped or {},
        "files": {},
    }


def run_eval(config: Config, *, progress: bool | None = None) -> EvalResult:
    """Evaluate every renderer on `config.eval`'s clips and portraits; write the report.

    progress: tqdm bars on stderr (default `config.eval.progress`).
    Raises InputError naming a missing or unreadable clip / portrait / weights file before any
    long work starts. A clip whose face cannot be used (none at all, or a reference frame's
    face too small or several: found when it is tracked) is skipped with one line and listed
    in the report's `skipped`; InputError when no clip is usable.
    """
    progress = config.eval.progress if progress is None else progress
    if 0 < config.eval.max_frames <= config.calibration.neutral_frames:
        log.warning("eval.max_frames=%d leaves no frame after the %d calibration frames "
                    "(calibration.neutral_frames): cross-reenactment renders nothing",
                    config.eval.max_frames, config.calibration.neutral_frames)
    inputs = check_inputs(config)
    out_dir = Path(config.eval.out_dir)
    renderers = build_eval_renderers(config, inputs.generators)
    fuser = build_fuser(config)
    targets = [prepare_target(str(p), config) for p in inputs.portraits]  # no face: fail early
    tracked, selfs, skipped = _self_pass(inputs, config, renderers, fuser, progress)
    inputs = _without(inputs, skipped)
    crosses = _cross_pass(inputs, tracked, targets, config, renderers, fuser, progress)
    sweeps, heads, moves, shifts, sweep_strips = _sweep_pass(inputs, targets, config, renderers,
                                                             fuser, out_dir)
    crops = {name: t.crop for t, name in zip(targets, inputs.portrait_names)}
    report = build_report(config, inputs, renderers, fuser, selfs, crosses, sweeps, heads,
                          shifts, moves, skipped)
    report["files"] = _write_pictures(out_dir, selfs, tracked, crosses, crops)
    report["files"].update({k: str(p.relative_to(out_dir)) for k, p in sweep_strips.items()})
    json_path = atomic_write_json(out_dir / "report.json", report)
    text = markdown(report)
    md_path = atomic_write_text(out_dir / "report.md", text)
    atomic_write_text(out_dir / "report.html", report_html(report))
    dump_config(config, out_dir / "config.yaml")
    return EvalResult(out_dir, report, json_path, md_path, text)
