"""What a viewer sees: the eval measures of the composited frame, sharpness, eyes and mouth
(self-reenactment) and of expression, gaze, head and blinks carried (cross-reenactment).

Self-reenactment, per rendered frame (`SelfFrameScorer`): the rendered crop is composited into
its ground-truth frame exactly as the live loop composites into a target (a `Compositor` built
from the frame, its alignment and its own landmarks, colour matching on for renderers whose
colours drift, `shifts_colours`, as the `Reenactor` sets it), then

- full_ssim / full_psnr: the composite against the real frame on the face's bounding box (the
  landmarks' box, grown by 10 %);
- seam (with seam_colour, seam_step): `reenact_lab.metrics.seam` on the paste box;
- sharpness_ratio, haarpsi: the crop against the real crop (face mask / whole crop);
- ssim_mouth, ssim_eyes, sharpness_ratio_mouth: on boxes cut by the real frame's landmarks.

Cross-reenactment (`carried`): actor series = the live-tracked driver (aligned-crop landmarks for
expression, gaze and blinks; frame landmarks for the head), output series = the re-tracked output
(in the portrait's crop / in the output frame), over the frames the live path rendered.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from reenact.landmarks.clips import TrackedClip, iter_frames
from reenact.landmarks.align import compute_alignment
from reenact_lab.metrics.expression import expression_carried, smile_carried
from reenact_lab.metrics.gaze import blink_carried, gaze_carried
from reenact_lab.metrics.haarpsi import haarpsi
from reenact_lab.metrics.head import head_carried
from reenact_lab.metrics.image import psnr, ssim, ssim_map
from reenact_lab.metrics.seam import seam_parts
from reenact_lab.metrics.series import nanmean
from reenact_lab.metrics.sharpness import box_mask, eye_boxes, mouth_box, sharpness_ratio
from reenact.pipeline.composite import Compositor

PSNR_CAP = 100.0
FACE_BOX_GROW = 0.10
SEAM_HALF_WIDTH = 0.015  # x crop side: the band's half width (~4 px at 256), in frame pixels
SELF_KEYS = ("full_ssim", "full_psnr", "seam", "seam_colour", "seam_step", "sharpness_ratio",
             "haarpsi", "ssim_mouth", "ssim_eyes", "sharpness_ratio_mouth")
CARRIED_KEYS = ("expression_r", "expression_gain", "expression_gain_iv", "expression_r_all",
                "expression_gain_all", "expression_r_2d", "expression_gain_2d", "smile_r",
                "smile_gain", "gaze_r", "gaze_r_moving", "gaze_gain", "head_r", "blink_r")
# carried over the whole clip, the same over the first eval.max_frames frames (`<key>_window`),
# and the head's largest step beyond the actor's and the background's change (cross_reenact)
CROSS_KEYS = (*CARRIED_KEYS, *(k + "_window" for k in CARRIED_KEYS), "head_step_excess",
              "background_change")


def frames_at(clip: TrackedClip, wanted: list[int]) -> Iterator[np.ndarray]:
    """The clip's full frames at the ascending indices `wanted`, decoded once, in order."""
    targets = iter(wanted)
    want = next(targets, None)
    for index, image in enumerate(iter_frames(clip.path, max(wanted, default=-1) + 1)):
        if want is None:
            return
        if index == want:
            yield image
            want = next(targets, None)


def face_box(landmarks: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the landmarks' box in frame pixels, grown by FACE_BOX_GROW, clipped."""
    p = np.asarray(landmarks)[:, :2]
    lo, hi = p.min(axis=0), p.max(axis=0)
    grow = FACE_BOX_GROW * (hi - lo)
    x0, y0 = np.maximum(np.floor(lo - grow), 0).astype(int)
    x1 = int(min(np.ceil(hi[0] + grow[0]), shape[1]))
    y1 = int(min(np.ceil(hi[1] + grow[1]), shape[0]))
    return int(x0), int(y0), x1, y1


def composite_into(frame: np.ndarray, landmarks: np.ndarray, crop: np.ndarray, size: int, *,
                   colour_match: bool, **options):
    """Paste `crop` into `frame` as the live loop pastes into a target with these landmarks.

    frame: (H,W,3) uint8; landmarks: (478,3) frame pixels; crop: (S,S,3) uint8; options: more
    `Compositor` keywords (blend, colour; its defaults are the config's).
    Returns (composite (H,W,3) uint8 copy, compositor) - the compositor's `box` / `mask_frame`
    give the paste box and its blend mask.
    """
    alignment = compute_alignment(landmarks, size)
    compositor = Compositor(target_frame=frame, alignment=alignment,
                            target_landmarks_crop=alignment.landmarks_to_crop(landmarks),
                            colour_match=colour_match, **options)
    return compositor.paste(crop).copy(), compositor


def seam_of(composite: np.ndarray, real: np.ndarray, compositor) -> dict[str, float]:
    """`metrics.seam.seam_parts` on the compositor's paste box (NaN parts when it has none)."""
    if compositor.box is None:
        return {"seam": float("nan"), "colour": float("nan"), "step": float("nan")}
    x0, y0, x1, y1 = compositor.box
    half = SEAM_HALF_WIDTH * compositor.size / compositor.alignment.scale
    return seam_parts(composite[y0:y1, x0:x1], real[y0:y1, x0:x1], compositor.mask_frame,
                      half_width=max(2, round(half)))


def _box_mean(values: np.ndarray, box: tuple[int, ...]) -> float:
    x0, y0, x1, y1 = box
    return float(values[y0:y1, x0:x1].mean())


def crop_scores(crop: np.ndarray, truth: np.ndarray, truth_landmarks: np.ndarray,
                face: np.ndarray) -> dict[str, float]:
    """sharpness_ratio (face mask), haarpsi, ssim_mouth, ssim_eyes, sharpness_ratio_mouth of a
    rendered (S,S,3) crop against the real crop; truth_landmarks (478,3) crop pixels."""
    size = truth.shape[0]
    smap = ssim_map(crop, truth)
    mouth = mouth_box(truth_landmarks, size)
    return {
        "sharpness_ratio": sharpness_ratio(crop, truth, face),
        "haarpsi": haarpsi(truth, crop),
        "ssim_mouth": _box_mean(smap, mouth),
        "ssim_eyes": float(np.mean([_box_mean(smap, b) for b in eye_boxes(truth_landmarks,
                                                                          size)])),
        "sharpness_ratio_mouth": sharpness_ratio(crop, truth, box_mask(mouth, truth.shape[:2])),
    }


class SelfFrameScorer:
    """Scores the rendered crops of one clip's self-reenactment frames, in ascending order.

    `start(frames, colour_match)` once per renderer, then `score(frame, crop, face)` for each of
    those frames in order (the full frames are decoded as they come).
    """

    def __init__(self, clip: TrackedClip, options: dict | None = None) -> None:
        self.clip = clip
        self.options = dict(options or {})  # Compositor keywords (blend, colour) of the live loop
        self._images: Iterator[np.ndarray] | None = None
        self._colour_match = False

    def start(self, frames: list[int], *, colour_match: bool) -> None:
        self._images = frames_at(self.clip, frames)
        self._colour_match = colour_match

    def score(self, frame: int, crop: np.ndarray, face: np.ndarray) -> dict[str, float]:
        image = next(self._images)
        clip = self.clip
        landmarks = clip.landmarks[frame]
        composite, compositor = composite_into(image, landmarks, crop, clip.crops.shape[1],
                                               colour_match=self._colour_match,
                                               **self.options)
        x0, y0, x1, y1 = face_box(landmarks, image.shape)
        seam = seam_of(composite, image, compositor)
        return {
            "full_ssim": ssim(composite[y0:y1, x0:x1], image[y0:y1, x0:x1]),
            "full_psnr": min(psnr(composite[y0:y1, x0:x1], image[y0:y1, x0:x1]), PSNR_CAP),
            "seam": seam["seam"], "seam_colour": seam["colour"], "seam_step": seam["step"],
            **crop_scores(crop, clip.crops[frame], clip.landmarks_crop[frame], face),
        }


def carried(actor_crop: np.ndarray, actor_frame: np.ndarray, actor_neutral: np.ndarray,
            output_crop: np.ndarray, output_frame: np.ndarray,
            output_neutral: np.ndarray, actor_consecutive: np.ndarray | None = None,
            actor_reread: np.ndarray | None = None) -> dict:
    """Expression, gaze, head and blinks carried from actor to output over T rendered frames.

    actor_crop / output_crop: (T,478,3) aligned-crop landmarks (NaN rows where the output was not
    re-tracked); actor_frame / output_frame: (T,478,3) frame pixels; *_neutral: (478,3) crop.
    Every measure here is a Pearson r or a slope, which T evenly spaced frames of a clip
    estimate as well as consecutive ones; only the gaze's tracking noise needs consecutive
    frames: actor_consecutive (T',478,3) crop pixels, the actor on consecutive frames (None =
    the T frames are consecutive). actor_reread: None, or (T,478,3) crop pixels, the actor's
    T frames re-tracked as the outputs are: expression features (and the smile lift) that its
    two readings do not agree on are left out (`reenact_lab.metrics.expression`).
    """
    expression = expression_carried(actor_crop, actor_neutral, output_crop, output_neutral,
                                    actor_reread=actor_reread)
    smile = smile_carried(actor_crop, actor_neutral, output_crop, output_neutral,
                          actor_reread=actor_reread)
    gaze = gaze_carried(actor_crop, output_crop, noise_from=actor_consecutive)
    head = head_carried(actor_frame, output_frame)
    return {
        "expression_r": expression["r"], "expression_gain": expression["gain"],
        "expression_gain_iv": expression["gain_iv"],
        "expression_r_all": expression["r_all"], "expression_gain_all": expression["gain_all"],
        "expression_r_2d": expression["r_2d"], "expression_gain_2d": expression["gain_2d"],
        "smile_r": smile["r"], "smile_gain": smile["gain"],
        "gaze_r": gaze["r"], "gaze_r_moving": gaze["r_moving"], "gaze_gain": gaze["gain"],
        "head_r": head["r"],
        "blink_r": blink_carried(actor_crop, output_crop),
        "carried_detail": {"expression": expression["features"],
                           "expression_2d": expression["features_2d"],
                           "smile_reliability": smile["reliability"],
                           "gaze": {k: gaze[k] for k in ("horizontal", "vertical", "actor_std",
                                                          "actor_noise")},
                           "head": {k: head[k] for k in ("roll", "pitch", "yaw")}},
    }


def summary_of(per_clip: list[dict], pairs: list[dict]) -> dict[str, float]:
    """The viewer columns of `summary.renderers.<name>`: self means over clips (per-clip means of
    frames), cross means over pairs (head_step_excess: the largest over pairs)."""
    out = {("self_" + k if k.startswith("ssim_") else k): nanmean(c.get(k) for c in per_clip)
           for k in SELF_KEYS}
    out.update({k: nanmean(p.get(k) for p in pairs) for k in CROSS_KEYS
                if k != "head_step_excess"})
    # a head that jumps once is a jump: the worst pair, not the mean
    steps = [p.get("head_step_excess") for p in pairs]
    steps = [float(v) for v in steps if v is not None and np.isfinite(v)]
    out["head_step_excess"] = max(steps) if steps else float("nan")
    return out
