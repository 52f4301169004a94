"""Self-reenactment through the live path: does the output's head go where the actor's went?

The per-crop self-reenactment (`reenact_lab.eval.self_reenact`) renders each frame in that frame's
own alignment and composites it into the real frame at the real head's place, so head motion
can neither help nor hurt it. Here one frame of the clip, the whole picture, is the target,
and the clip drives it exactly as a webcam drives a target in `reenact live` (`Reenactor`:
tracking in video mode, One Euro smoothing, calibration on the first `calibration.neutral_frames`
frames, fusion, render, head motion as `head.motion` says, composite). Each output frame is
compared with the real frame it reenacts, on the real face's box (the landmarks' box grown by
10 %, `eval.viewer.face_box`).

The target frame is the one the live loop's head motion starts from: head motion moves the
target's head by the actor's motion relative to their calibrated neutral (the median pose of
the calibration frames), so the target must show the head in that pose, as a user's target
picture is taken to. `calibration_reference` picks, among the first `calibration.neutral_frames`
frames with a face, the one whose head pose (3-D angles, head centre and size) is nearest
their median. A fixed frame 0 would score head motion against a start the loop never had (a
clip's first frame can be turned degrees away from its calibration frames' median).

- live_ssim / live_psnr: SSIM / PSNR (capped at 100 dB) of output vs real frame on that box.

When the actor's head moves away from where it was in the reference frame, an output head that
stays put scores lower than one that follows (head motion on). Frames where the live path renders
nothing (calibrating, face lost) and the reference frame itself are skipped.
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.config import Config
from reenact.landmarks.clips import TrackedClip, iter_frames
from reenact_lab.eval.renderers import EvalRenderer
from reenact_lab.eval.tracked import num_frames
from reenact_lab.eval.viewer import PSNR_CAP, face_box, frames_at
from reenact.landmarks.head_pose import RIGID_POINTS
from reenact_lab.metrics.landmarks import head_angles
from reenact_lab.metrics.image import psnr, ssim
from reenact_lab.metrics.series import nanmean
from reenact.pipeline.reenactor import Reenactor
from reenact.pipeline.target import prepare_target_image
from reenact.pipeline.timing import StageTimer

LIVE_KEYS = ("live_ssim", "live_psnr")


def evaluate_self_live(
    clip: TrackedClip,
    renderers: list[EvalRenderer],
    fuser,
    config: Config,
    *,
    bar=None,
    reference: tuple[int, object, float] | None = None,
) -> dict[str, dict]:
    """{renderer: {"live_ssim", "live_psnr", "live_frames", "live_reference"}} for `clip` (its
    first `eval.max_frames` frames) driving its own frame `live_reference` (see
    `calibration_reference`) through the live path. reference: `live_reference(clip, config)`,
    if already made."""
    ref, target, scale = live_reference(clip, config) if reference is None else reference
    return {
        item.name: {
            **_drive(clip, ref, target, scale, item, fuser, config, bar),
            "live_reference": ref,
        }
        for item in renderers
    }


def live_reference(clip: TrackedClip, config: Config) -> tuple[int, object, float]:
    """(the frame index `calibration_reference` picks, that frame prepared as the live loop's
    target (`PreparedTarget`), the target frame's width over the clip's). InputError naming
    `<clip>@<frame>` when that frame's face cannot be a target: too small (tracker.min_face_px,
    unless tracker.small_face=upscale), none found, or several."""
    ref = calibration_reference(clip, config.calibration.neutral_frames)
    reference = next(frames_at(clip, [ref]))
    target = prepare_target_image(f"{clip.name}@{ref}", reference, config)
    return ref, target, target.frame.shape[1] / reference.shape[1]  # fit_frame may scale it


def calibration_reference(clip: TrackedClip, frames: int) -> int:
    """The index of the frame among the clip's first `frames` frames with a face whose head pose
    is nearest (L1) their median pose: pitch, yaw and roll (degrees, `head_angles` from the
    first of them), the rigid points' centre and the inter-ocular distance's log (both in
    radians' worth of degrees: 1 inter-ocular distance = 57.3)."""
    chosen = np.flatnonzero(clip.valid)[: max(1, int(frames))]
    lm = clip.landmarks[chosen].astype(np.float64)
    iod = np.linalg.norm(lm[:, 263, :2] - lm[:, 33, :2], axis=1)
    degrees = np.degrees(1.0)
    poses = np.array(
        [
            [
                *head_angles(lm[0], face),
                *(face[RIGID_POINTS, :2].mean(axis=0) / iod[0] * degrees),
                np.log(size / iod[0]) * degrees,
            ]
            for face, size in zip(lm, iod)
        ]
    )
    return int(chosen[np.argmin(np.abs(poses - np.median(poses, axis=0)).sum(axis=1))])


def _drive(
    clip: TrackedClip,
    ref: int,
    target,
    scale: float,
    item: EvalRenderer,
    fuser,
    config: Config,
    bar,
) -> dict:
    """One renderer: the clip's frames decoded as they come (never all held at once)."""
    height, width = target.frame.shape[:2]
    scores: dict[str, list[float]] = {key: [] for key in LIVE_KEYS}
    reenactor = Reenactor(
        config=config, target=target, fuser=fuser, renderer=item.renderer, timer=StageTimer()
    )
    try:
        for index, image in enumerate(iter_frames(clip.path, num_frames(clip))):
            frame = reenactor.process(image, index / clip.fps, None)
            if bar is not None:
                bar.update(1)
            if frame.fused is None or index == ref or not clip.valid[index]:
                continue
            truth = (
                image
                if scale == 1.0
                else cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            )
            box = face_box(clip.landmarks[index] * scale, truth.shape)
            for key, value in score_frame(frame.output, truth, box).items():
                scores[key].append(value)
    finally:
        reenactor.close()
    return {
        **{key: nanmean(values) for key, values in scores.items()},
        "live_frames": len(scores["live_ssim"]),
    }


def score_frame(
    output: np.ndarray, truth: np.ndarray, box: tuple[int, int, int, int]
) -> dict[str, float]:
    """One output frame (H,W,3) uint8 against the real frame it reenacts (same size), on the
    real face's `box` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    return {
        "live_ssim": ssim(output[y0:y1, x0:x1], truth[y0:y1, x0:x1]),
        "live_psnr": min(psnr(output[y0:y1, x0:x1], truth[y0:y1, x0:x1]), PSNR_CAP),
    }
