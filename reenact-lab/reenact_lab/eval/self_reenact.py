"""Self-reenactment on held-out clips: a reference frame of the clip is the target, every other
frame's own landmarks drive it, and the real frame is the ground truth.

Everything is compared in the canonical aligned crop (side `renderer.size`): the rendered crop
against the ground-truth frame's own aligned crop. Measures per frame: SSIM over the crop (5 px
border left out), SSIM over the ground truth's face (its feathered face mask > 0.5), PSNR (capped
at 100 dB) and L1 (in [0, 1]).

Two drives per renderer:
- direct: J = the ground truth's aligned landmarks;
- fused:  J = fuser.fuse(GT landmarks, reference landmarks, reference landmarks), i.e. through the
  configured fuser (a trained Phi is then evaluated too). The training-free transfer gives J = GT
  for the same person; when every J is within 0.01 px of the GT landmarks the direct results are
  reused and marked `same_as_direct`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reenact.landmarks.clips import TrackedClip
from reenact_lab.eval.renderers import EvalRenderer
from reenact_lab.eval.tracked import deviation, pick_spread
from reenact_lab.eval.viewer import SelfFrameScorer
from reenact_lab.metrics.image import l1, psnr, ssim_map
from reenact_lab.metrics.series import nanmean
from reenact.pipeline.composite import face_mask

PSNR_CAP = 100.0  # dB, for identical images (psnr = inf); as in training's validation
SAME_TOLERANCE_PX = 0.01
_BORDER = 5  # ssim_map's reflected border strip, left out of the mean as `metrics.ssim` does


def compare(image: np.ndarray, truth: np.ndarray, face: np.ndarray) -> tuple[float, ...]:
    """(ssim, ssim_face, psnr, l1) of two (S,S,3) uint8 crops; face: (S,S) bool mask."""
    s = ssim_map(image, truth)
    inner = np.zeros(s.shape, dtype=bool)
    inner[_BORDER:-_BORDER, _BORDER:-_BORDER] = True
    face = face & inner
    ssim_face = float(s[face].mean()) if face.any() else float("nan")
    return (float(s[inner].mean()), ssim_face, min(psnr(image, truth), PSNR_CAP), l1(image, truth))


@dataclass
class FrameScores:
    """Per-frame scores of one renderer on one clip, in frame order."""

    frames: list[int] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    ssim_face: list[float] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)
    l1: list[float] = field(default_factory=list)
    viewer: dict[str, list[float]] = field(default_factory=dict)  # `eval.viewer.SELF_KEYS`

    def add(self, frame: int, scores: tuple[float, ...], viewer: dict | None = None) -> None:
        self.frames.append(frame)
        for name, value in zip(("ssim", "ssim_face", "psnr", "l1"), scores):
            getattr(self, name).append(value)
        for name, value in (viewer or {}).items():
            self.viewer.setdefault(name, []).append(value)

    def means(self) -> dict[str, float]:
        base = {k: getattr(self, k) for k in ("ssim", "ssim_face", "psnr", "l1")}
        return {
            k: nanmean(v) if self.frames else float("nan")
            for k, v in {**base, **self.viewer}.items()
        }


@dataclass
class SelfResult:
    """One clip's self-reenactment: per-renderer scores (direct and through the fuser) and the
    crops of the sample frames, strip[renderer][i] for frame `strip_frames[i]`."""

    clip: str
    reference: int
    frames: list[int]
    direct: dict[str, FrameScores]
    fused: dict[str, FrameScores]
    fused_same: bool
    strip_frames: list[int]
    strip: dict[str, list[np.ndarray]]
    live: dict[str, dict] = field(default_factory=dict)  # `eval.self_live`, per renderer

    def to_json(self, path: str) -> dict:
        renderers = {}
        for name, scores in self.direct.items():
            fused = self.fused[name]
            renderers[name] = {
                **scores.means(),
                "per_frame": {
                    "frame": scores.frames,
                    "ssim": scores.ssim,
                    "ssim_face": scores.ssim_face,
                    "psnr": scores.psnr,
                    "l1": scores.l1,
                    **scores.viewer,
                },
                "fused": {**fused.means(), "same_as_direct": self.fused_same},
                **self.live.get(name, {}),
            }
        return {
            "path": path,
            "reference_frame": self.reference,
            "frames_evaluated": len(self.frames),
            "renderers": renderers,
        }


def drive_and_score(
    renderer: EvalRenderer,
    clip: TrackedClip,
    frames: list[int],
    drives: np.ndarray,
    masks: dict[int, np.ndarray],
    keep: set[int],
    bar,
    viewer: SelfFrameScorer | None = None,
) -> tuple[FrameScores, dict]:
    """Render every frame with its drive landmarks and score it against the real crop (and,
    with `viewer`, composited into the real frame: `reenact_lab.eval.viewer`)."""
    scores, kept = FrameScores(), {}
    if viewer is not None:  # colour matching as the live loop sets it (`Reenactor`)
        viewer.start(frames, colour_match=renderer.renderer.shifts_colours)
    for frame, landmarks in zip(frames, drives):
        crop = renderer.renderer.render(landmarks)
        extra = viewer.score(frame, crop, masks[frame]) if viewer is not None else None
        scores.add(frame, compare(crop, clip.crops[frame], masks[frame]), extra)
        if frame in keep:
            kept[frame] = crop.copy()
        if bar is not None:
            bar.update(1)
    return scores, kept


def evaluate_self(
    clip: TrackedClip,
    renderers: list[EvalRenderer],
    fuser,
    *,
    reference: int,
    strip_count: int,
    bar=None,
    compositor: dict | None = None,
) -> SelfResult:
    """Self-reenactment of `clip` with `clip.reference_index(reference)` as the target.

    renderers: built once, re-targeted here. fuser: `fuse(source, source_neutral,
    target_neutral, intensity) -> (478,3)`. bar: a tqdm bar advanced once per rendered frame.
    compositor: `Compositor` keywords of the live loop (`pipeline.blend.compositor_options`).
    """
    ref = clip.reference_index(reference)
    frames = [int(i) for i in np.flatnonzero(clip.valid) if i != ref]
    size = clip.crops.shape[1]
    ref_crop, ref_lm = clip.crops[ref], clip.landmarks_crop[ref]
    direct = clip.landmarks_crop[frames]
    fused = np.stack([fuser.fuse(lm, ref_lm, ref_lm, 1.0) for lm in direct]) if frames else direct
    same = bool(np.all(np.abs(fused[..., :2] - direct[..., :2]) <= SAME_TOLERANCE_PX))
    masks = {f: face_mask(clip.landmarks_crop[f], size) > 0.5 for f in frames}
    strip_frames = pick_spread(np.array(frames), deviation(direct, ref_lm), strip_count)
    result = SelfResult(clip.name, ref, frames, {}, {}, same, strip_frames, {})
    if bar is not None:
        drives = sum(1 if same or r.kind == "identity" else 2 for r in renderers)
        bar.total = (bar.total or 0) + drives * len(frames)
        bar.refresh()
    for item in renderers:
        item.renderer.set_target(ref_crop, ref_lm)
        viewer = SelfFrameScorer(clip, compositor or {})
        scores, kept = drive_and_score(
            item, clip, frames, direct, masks, set(strip_frames), bar, viewer=viewer
        )
        result.direct[item.name] = scores
        result.strip[item.name] = [kept[f] for f in strip_frames]
        if same or item.kind == "identity":  # the identity baseline ignores the landmarks
            result.fused[item.name] = scores
        else:
            result.fused[item.name], _ = drive_and_score(
                item, clip, frames, fused, masks, set(), bar
            )
    return result
