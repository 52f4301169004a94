"""The carried measures of one cross-reenactment pair (`reenact_lab.eval.viewer.carried`: gaze, head,
blinks, expression), each against the driver's live track:

- `carried_all`: each renderer's output, re-tracked over the whole clip and in the window, with
  head_step_excess and background_change;
- `fused_carried`: J_gen itself, the fuser's landmarks before any renderer draws them;
- `driver_carried`: the driver's own frames re-tracked in static mode (`actor_static`), as the
  outputs are: what a renderer that drew the real face would score.

`reenact_lab.eval.cross_reenact.evaluate_cross` drives the pair and calls these.
"""

from __future__ import annotations

import numpy as np

from reenact.config import Config
from reenact.landmarks.clips import TrackedClip, iter_frames
from reenact_lab.eval.drive import DriveResult, mean_or_nan, or_missing, whole_frames
from reenact_lab.eval.tracked import whole_crop, whole_frame
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.tracker import NUM_LANDMARKS, FaceTracker
from reenact_lab.metrics.head import head_step_excess


def output_neutral(target) -> np.ndarray:
    """(478,3) crop pixels: the face an output shows while the actor rests, which its expression
    is measured from: the fuser's L_t (`Target.neutral`). For a portrait that wears an
    expression (a grin, an open "O") that is its estimated neutral (`fusion.target_neutral`),
    not the picture's landmarks: the live loop draws the estimate at rest and the actor's
    deviation on top of it, over the estimate's region sizes. Measured from the picture instead,
    a grinning target's mouth features would be divided by its grin's width and read that much
    short, J_gen's own included. A portrait taken as it is (no expression found in it, or
    `fusion.target_neutral: picture`) is its own landmarks."""
    return target.neutral()


def _with_expression_detail(found: dict, drop: tuple[str, ...] = ()) -> dict:
    """A reference row's carried measures (`eval.viewer.carried`'s) without its detail (and
    `drop`), but for the expression's per feature, kept as `expression_detail`."""
    return {k: v for k, v in found.items() if k != "carried_detail" and k not in drop} | {
        "expression_detail": found.get("carried_detail", {}).get("expression", {})
    }


def fused_carried(
    clip: TrackedClip, d: DriveResult, neutral: np.ndarray, target, actor_reread: np.ndarray
) -> dict:
    """The carried measures of J_gen itself (the fuser's landmarks on the re-tracked frames,
    before any renderer draws them) against the driver's live track: the fuser's share of
    what the renderers' rows carry, so a shortfall there is told from one in the drawing.
    J_gen is the same for every renderer (tracking and fusion do not depend on the drawing);
    `d` is any renderer's drive. No head figure: J_gen holds the head's pitch and yaw, but the
    roll (and in head_motion "full" the shift) moves the head when compositing. actor_reread:
    as `carried_all`'s."""
    if not d.sampled:
        return {}
    consecutive = whole_crop(clip)[d.sampled[0] : d.sampled[-1] + 1]
    found = _carried(
        clip,
        d.sampled,
        d.sampled_fused,
        d.sampled_fused,
        neutral,
        target,
        actor_reread,
        consecutive,
    )
    return _with_expression_detail(found, drop=("head_r",))


def driver_carried(
    clip: TrackedClip,
    frames: list[int],
    neutral: np.ndarray,
    actor_static: np.ndarray,
    actor_reread: np.ndarray,
) -> dict:
    """The carried measures (`eval.viewer.carried`; of its detail, the expression's per
    feature, as `expression_detail`) of the driver's own frames re-tracked in static mode, as
    the outputs are, against its live track: what a renderer that drew the driver's real face
    would score, a reference for the renderers' rows.
    The two tracking modes and the face's own tracking noise keep it below 1 (a small, soft face
    most), so a portrait sharper than the driver can beat it; the expression features the two
    readings do not agree on are left out here as in every row (`reenact_lab.metrics.expression`).
    frames: the re-tracked frames of the carried measures; neutral: the driver's calibration
    median (478,3) crop pixels; actor_static, actor_reread: `actor_static` and `reread_crop`
    of it."""
    from reenact_lab.eval.viewer import carried

    frames = [f for f in frames if np.isfinite(actor_static[f]).all()]
    if len(frames) < 3:
        return {}
    static_crop = actor_reread[frames]
    crop = whole_crop(clip)
    consecutive = crop[frames[0] : frames[-1] + 1]
    found = carried(
        crop[frames],
        whole_frame(clip)[frames],
        neutral,
        static_crop,
        actor_static[frames],
        neutral,
        consecutive,
        actor_reread=static_crop,
    )
    # the IV gain needs an output read apart from the instrument; here the output *is* the
    # instrument (the static re-read), whose own noise is then in both of its covariances
    found["expression_gain_iv"] = float("nan")
    return _with_expression_detail(found)


def reread_crop(actor_static: np.ndarray, size: int) -> np.ndarray:
    """(T',478,3): each frame the actor's static re-tracking found (`actor_static`, frame
    pixels) in its own aligned crop of side `size` (NaN rows elsewhere). Worked out once per
    pair and indexed by every row's frames."""
    out = np.full(actor_static.shape, np.nan, np.float32)
    for f in np.flatnonzero(np.isfinite(actor_static).all(axis=(1, 2))):
        out[f] = compute_alignment(actor_static[f], size).landmarks_to_crop(actor_static[f])
    return out


def actor_static(
    clip: TrackedClip, wanted: set[int], config: Config, known: dict[int, np.ndarray] | None = None
) -> np.ndarray:
    """(T',478,3) frame pixels: the actor's `wanted` frames re-tracked in static mode, as the
    outputs are (NaN rows elsewhere and where no face): the actor's side of
    `head_step_excess`. known: frames of this clip already re-tracked ({index: (478,3)}, NaN
    where no face), read instead of tracked again and added to (one dict per clip serves every
    portrait it drives: static tracking gives the same answer each time)."""
    known = {} if known is None else known
    missing = {i for i in wanted if i not in known}
    if missing:
        with FaceTracker(config.tracker, static=True) as tracker:
            for index, image in enumerate(iter_frames(clip.path, max(missing) + 1)):
                if index in missing:
                    known[index] = or_missing(tracker.track_one(image))
    out = np.full((whole_frames(clip), NUM_LANDMARKS, 3), np.nan, np.float32)
    for index in wanted:
        if index in known:  # a frame past the clip's end stays NaN
            out[index] = known[index]
    return out


def carried_all(
    clip: TrackedClip,
    d: DriveResult,
    neutral: np.ndarray,
    target,
    actor_static: np.ndarray,
    actor_reread: np.ndarray,
) -> dict:
    """Per renderer: carried over the whole clip (evenly spaced re-tracks), the window's as
    `<key>_window`, head_step_excess (window) and background_change (every rendered frame).
    actor_static: the driver's frames re-tracked in static mode (`actor_static`, frame pixels);
    actor_reread: the same in their aligned crops (`reread_crop`)."""
    from reenact_lab.eval.viewer import CARRIED_KEYS

    consecutive = whole_crop(clip)[d.sampled[0] : d.sampled[-1] + 1] if d.sampled else None
    out = _carried(
        clip, d.sampled, d.sampled_crop, d.sampled_frame, neutral, target, actor_reread, consecutive
    )
    window = _carried(clip, d.frames, d.retracked, d.retracked_frame, neutral, target, actor_reread)
    out.update({k + "_window": window.get(k, float("nan")) for k in CARRIED_KEYS})
    out["carried_detail_window"] = window.get("carried_detail", {})
    out["carried_retracked_frames"] = list(d.sampled)
    frames = d.frames + d.step_frames  # ascending: the step frames lie past the window
    out["head_step_excess"] = (
        head_step_excess(
            actor_static[frames], np.stack(d.retracked_frame + d.step_landmarks), frames
        )
        if frames
        else float("nan")
    )
    out["background_change"] = mean_or_nan(d.background)
    return out


def _carried(
    clip: TrackedClip,
    frames: list[int],
    output_crop: list,
    output_frame: list,
    neutral: np.ndarray,
    target,
    actor_reread: np.ndarray,
    consecutive: np.ndarray | None = None,
) -> dict:
    """`reenact_lab.eval.viewer.carried` of one drive: the driver's live track vs the re-tracked
    output, over `frames` (the output's (478,3) crop / frame landmarks there); neutrals: the
    driver's calibration median, the target's rest (`output_neutral`); actor_reread: the
    driver's frames re-tracked as the outputs are, in their aligned crops (`reread_crop`), which
    tells the expression features the tracker reads on this driver from those it cannot;
    consecutive: the actor's crop landmarks on consecutive frames (the gaze's tracking noise;
    None = `frames` are)."""
    from reenact_lab.eval.viewer import carried

    if not frames:
        return {}
    return carried(
        whole_crop(clip)[frames],
        whole_frame(clip)[frames],
        neutral,
        np.stack(output_crop),
        np.stack(output_frame),
        output_neutral(target),
        consecutive,
        actor_reread=actor_reread[frames],
    )
