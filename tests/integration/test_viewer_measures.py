"""The eval's viewer measures fail when they should, on real clips (issue 13).

- expression_r / expression_gain: ~1 when a clip drives itself (its frames re-tracked in static
  mode, as eval re-tracks every output), 0 for the unchanged target (identity renderer); a head
  that turns or nods with no expression reads none (the image-plane reading credits it), and an
  output that turns its head its own way still scores its expression;
- smile_r / smile_gain (the mouth corners' lift): ~1 for self-drive, 0 for identity, ~0.5 for a
  damped copy (half the self-drive's), and ~0 for an output whose corners keep their neutral height while everything
  else moves (the six expression features still score it: they cannot see a lift);
- gaze_r: high for self-drive on a clip whose eyes move (hdtf_aoc), 0 for identity;
- blink_r and head_r likewise;
- seam: ~0 for the real frame pasted onto itself, clearly higher for a +15 % brighter crop,
  higher still pasted without feathering.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.config import load_config
from reenact.landmarks.clips import iter_frames
from reenact_lab.eval.viewer import carried, composite_into, seam_of
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.tracker import FaceTracker

FRAMES = 40


@pytest.fixture(scope="module")
def tracked(clips_dir: Path) -> dict[str, np.ndarray]:
    """hdtf_aoc's first 40 frames: live (video-mode) and static tracks, frame and crop pixels."""
    config = load_config("eval", [])
    frames = list(iter_frames(clips_dir / "hdtf_aoc.mp4", FRAMES))
    live, static = [], []
    with (
        FaceTracker(config.tracker, static=False) as video,
        FaceTracker(config.tracker, static=True) as still,
    ):
        for image in frames:
            live.append(video.track_one(image))
            static.append(still.track_one(image))
    assert all(x is not None for x in live + static), "hdtf_aoc: a face is lost"
    live, static = np.stack(live), np.stack(static)
    alignments = [compute_alignment(lm, 256) for lm in live]
    to_crop = lambda seq: np.stack([a.landmarks_to_crop(lm) for a, lm in zip(alignments, seq)])
    return {
        "live": live,
        "static": static,
        "live_crop": to_crop(live),
        "static_crop": to_crop(static),
        "first_frame": frames[0],
    }


def _self_and_identity(t: dict) -> tuple[dict, dict]:
    neutral = np.median(t["live_crop"][:10], axis=0)
    self_drive = carried(
        t["live_crop"],
        t["live"],
        neutral,
        t["static_crop"],
        t["static"],
        np.median(t["static_crop"][:10], axis=0),
    )
    frozen_crop = np.repeat(t["static_crop"][:1], FRAMES, axis=0)
    frozen = np.repeat(t["static"][:1], FRAMES, axis=0)
    identity = carried(t["live_crop"], t["live"], neutral, frozen_crop, frozen, frozen_crop[0])
    return self_drive, identity


def test_expression_carried_is_one_for_self_drive_and_zero_for_identity(tracked):
    self_drive, identity = _self_and_identity(tracked)
    assert self_drive["expression_r"] > 0.9
    assert 0.8 < self_drive["expression_gain"] < 1.2
    assert identity["expression_r"] == pytest.approx(0.0, abs=0.05)
    assert identity["expression_gain"] == pytest.approx(0.0, abs=0.05)
    # the corners' height is the noisiest reading (0.85 / 0.80 when written, over 40 frames)
    assert self_drive["smile_r"] > 0.7
    assert 0.65 < self_drive["smile_gain"] < 1.35
    assert identity["smile_r"] == pytest.approx(0.0, abs=0.05)
    assert identity["smile_gain"] == pytest.approx(0.0, abs=0.05)


def test_gaze_blink_and_head_follow_only_when_carried(tracked):
    self_drive, identity = _self_and_identity(tracked)
    assert self_drive["gaze_r"] > 0.6, self_drive["carried_detail"]["gaze"]
    assert self_drive["blink_r"] > 0.9
    assert self_drive["head_r"] > 0.8, self_drive["carried_detail"]["head"]
    for key in ("gaze_r", "blink_r", "head_r"):
        assert abs(identity[key]) < 0.1, key


def test_expression_carried_sees_a_damped_copy(tracked):
    """An output that moves half as much (the issue's lips that barely part) has gain ~0.5."""
    t = tracked
    neutral = np.median(t["static_crop"][:10], axis=0)
    damped = neutral + 0.5 * (t["static_crop"] - neutral)
    result = carried(
        t["live_crop"],
        t["live"],
        np.median(t["live_crop"][:10], axis=0),
        damped,
        t["static"],
        neutral,
    )
    assert result["expression_r"] > 0.9
    assert 0.35 < result["expression_gain"] < 0.65
    unchanged, _ = _self_and_identity(t)
    assert 0.4 < result["smile_gain"] / unchanged["smile_gain"] < 0.6  # 0.48 when written


def test_smile_lift_sees_corners_that_keep_their_height(tracked):
    """The re-tracked frames with the mouth corners pinned at their neutral height above the nose
    base (the width and every other point still the actor's): the six expression features score
    it as the self-drive, the smile lift sees nothing carried."""
    from reenact.landmarks.expressiveness import MOUTH_CORNERS as CORNERS, NOSE_BASE

    t = tracked
    neutral = np.median(t["static_crop"][:10], axis=0)
    pinned = t["static_crop"].copy()
    for corner in CORNERS:
        pinned[:, corner, 1] = pinned[:, NOSE_BASE, 1] + (
            neutral[corner, 1] - neutral[NOSE_BASE, 1]
        )
    actor_neutral = np.median(t["live_crop"][:10], axis=0)
    result = carried(t["live_crop"], t["live"], actor_neutral, pinned, t["static"], neutral)
    unpinned, _ = _self_and_identity(t)
    assert abs(result["expression_gain"] - unpinned["expression_gain"]) < 0.05, result
    assert abs(result["smile_gain"]) < 0.2, result["smile_gain"]
    assert unpinned["smile_gain"] > 0.65


def _turned(faces: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(T,478,3) faces each turned in 3-D by its (pitch, yaw) degrees about its own centre."""
    from reenact.landmarks.head_pose import rotate_mesh, rotation_matrix

    return np.stack(
        [
            rotate_mesh(f, rotation_matrix(p, y, 0.0), f.mean(axis=0))
            for f, (p, y) in zip(faces, angles)
        ]
    )


def test_a_head_turn_is_not_read_as_expression(tracked):
    from reenact_lab.metrics.expression import relative_features, smile_lift

    neutral = np.median(tracked["static_crop"][:10], axis=0)
    angles = np.array([[p, y] for p in (-10.0, 0.0, 10.0) for y in (-20.0, -10.0, 10.0, 20.0)])
    turned = _turned(np.repeat(neutral[None], len(angles), axis=0), angles)
    posed = np.abs(relative_features(turned, neutral, pose_free=False))
    free = np.abs(relative_features(turned, neutral))
    assert np.abs(smile_lift(turned, neutral, pose_free=False)).max() > 0.02
    assert np.abs(smile_lift(turned, neutral)).max() < 0.005
    # in the picture the turn moves the eyes and brows by several region sizes' percent ...
    assert posed[:, 2:].max() > 0.05, posed.max(axis=0)
    # ... with the pose undone it is no expression at all
    assert free.max() < 0.005, free.max(axis=0)


def test_an_output_turning_its_own_way_still_carries_the_expression(tracked):
    """The self-drive output, each frame turned by its own pitch and yaw (up to 15 degrees, not the
    actor's): its expression is the actor's, so it scores as the unturned self-drive; read in the
    image plane the turns blur it."""
    t = tracked
    rng = np.random.default_rng(0)
    angles = rng.uniform(-15.0, 15.0, size=(FRAMES, 2))
    output = _turned(t["static_crop"], angles)
    result = carried(
        t["live_crop"],
        t["live"],
        np.median(t["live_crop"][:10], axis=0),
        output,
        t["static"],
        np.median(t["static_crop"][:10], axis=0),
    )
    unturned, _ = _self_and_identity(t)
    assert abs(result["expression_r"] - unturned["expression_r"]) < 0.02, result
    assert abs(result["expression_gain"] - unturned["expression_gain"]) < 0.05, result
    assert result["expression_r_2d"] < result["expression_r"] - 0.05, result


def _hard_paste(compositor, frame: np.ndarray, crop: np.ndarray) -> np.ndarray:
    """The crop pasted with the compositor's mask cut at 0.5: no feathering."""
    x0, y0, x1, y1 = compositor.box
    matrix = compositor.alignment.inverse.copy()
    matrix[:, 2] -= (x0, y0)
    warped = cv2.warpAffine(
        crop, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    out = frame.copy()
    inside = (compositor.mask_frame >= 0.5)[..., None]
    out[y0:y1, x0:x1] = np.where(inside, warped, frame[y0:y1, x0:x1])
    return out


def test_seam_is_zero_for_the_real_frame_and_shows_brightness_and_hard_edges(tracked):
    frame, landmarks = tracked["first_frame"], tracked["static"][0]
    crop = compute_alignment(landmarks, 256).crop_image(frame)
    brighter = np.clip(crop * 1.15, 0, 255).astype(np.uint8)
    # the alpha feather alone (blend="feather"): the feathered vs unfeathered paste
    same, compositor = composite_into(
        frame, landmarks, crop, 256, colour_match=False, blend="feather"
    )
    bright, _ = composite_into(frame, landmarks, brighter, 256, colour_match=False, blend="feather")
    hard = _hard_paste(compositor, frame, brighter)
    seam_same = seam_of(same, frame, compositor)["seam"]
    seam_bright = seam_of(bright, frame, compositor)["seam"]
    seam_hard = seam_of(hard, frame, compositor)["seam"]
    assert seam_same < 0.01
    assert seam_bright > max(0.03, 5 * seam_same)
    assert seam_hard > 1.3 * seam_bright
    assert seam_of(hard, frame, compositor)["step"] > 2 * seam_of(bright, frame, compositor)["step"]
    # the default multiband blend spreads the brightness step out: a smaller seam, still seen
    multiband, blended = composite_into(
        frame, landmarks, brighter, 256, colour_match=False, blend="multiband"
    )
    seam_multiband = seam_of(multiband, frame, blended)["seam"]
    assert 2 * seam_same < seam_multiband < seam_bright


def test_crop_scores_see_a_sigma_2_blur(tracked):
    """The eval's per-crop scores on a real aligned crop: as sharp as itself, < 0.6 blurred."""
    from reenact_lab.eval.viewer import crop_scores
    from reenact.pipeline.composite import face_mask

    frame, landmarks = tracked["first_frame"], tracked["static"][0]
    alignment = compute_alignment(landmarks, 256)
    crop, crop_landmarks = alignment.crop_image(frame), alignment.landmarks_to_crop(landmarks)
    face = face_mask(crop_landmarks, 256) > 0.5
    same = crop_scores(crop, crop, crop_landmarks, face)
    blurred = crop_scores(cv2.GaussianBlur(crop, (0, 0), 2), crop, crop_landmarks, face)
    assert same["sharpness_ratio"] == pytest.approx(1.0)
    assert same["haarpsi"] == pytest.approx(1.0) and same["ssim_mouth"] == pytest.approx(1.0)
    assert blurred["sharpness_ratio"] < 0.6 and blurred["sharpness_ratio_mouth"] < 0.6
    assert blurred["haarpsi"] < 0.9 and blurred["ssim_eyes"] < 0.95
