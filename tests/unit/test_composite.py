"""Compositor: pasting crops back into real target frames without a seam or a colour step."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from reenact.config.schema import TrackerConfig
from reenact.errors import InputError
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.tracker import detect_target_face
from reenact.pipeline.composite import Compositor


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / max(mse, 1e-12))


def _first_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


@pytest.fixture(scope="module", params=["clip_frame_720x1280", "portrait"])
def target(request, clips_dir: Path, portraits_dir: Path):
    """(frame (H,W,3), alignment, crop (256,256,3), landmarks in crop pixels (478,3))."""
    if request.param == "portrait":
        frame = cv2.cvtColor(cv2.imread(str(portraits_dir / "lp_s1.jpg")), cv2.COLOR_BGR2RGB)
    else:
        frame = _first_frame(clips_dir / "lp_d13.mp4")
    landmarks = detect_target_face(frame, TrackerConfig(), source_name=request.param)
    alignment = compute_alignment(landmarks, 256)
    return frame, alignment, alignment.crop_image(frame), alignment.landmarks_to_crop(landmarks)


def _compositor(target, **kwargs) -> Compositor:
    frame, alignment, _crop, landmarks = target
    return Compositor(
        target_frame=frame, alignment=alignment, target_landmarks_crop=landmarks, **kwargs
    )


def _band(comp: Compositor, lo: float, hi: float) -> tuple[slice, slice, np.ndarray]:
    x0, y0, x1, y1 = comp.box
    alpha = comp.mask_frame
    return slice(y0, y1), slice(x0, x1), (alpha > lo) & (alpha < hi)


def test_pasting_the_unchanged_crop_reproduces_the_frame(target):
    frame, _alignment, crop, _lm = target
    comp = _compositor(target)
    out = comp.paste(crop)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert psnr(out, frame) > 35.0
    rows, cols, face = _band(comp, 0.5, 1.01)
    assert psnr(out[rows, cols][face], frame[rows, cols][face]) > 30.0  # even on the face itself
    # no seam: along the mask's outer edge the output is the frame, within a few levels
    rows, cols, edge = _band(comp, 0.0, 0.15)
    diff = np.abs(out[rows, cols].astype(int) - frame[rows, cols])
    assert diff[edge].max() <= 8
    # outside the mask nothing changes at all
    untouched = np.ones(frame.shape[:2], bool)
    untouched[rows, cols] = comp.mask_frame <= 0
    assert np.array_equal(out[untouched], frame[untouched])


def test_mask_is_zero_at_the_crop_border_and_one_on_the_face(target):
    _frame, _alignment, _crop, landmarks = target
    mask = _compositor(target).mask_crop
    assert mask[:3].max() == 0 and mask[-3:].max() == 0 and mask[:, :3].max() == 0
    nose = np.round(landmarks[4, :2]).astype(int)
    assert mask[nose[1], nose[0]] == pytest.approx(1.0)


def _step(out: np.ndarray, frame: np.ndarray, comp: Compositor) -> float:
    """Mean signed difference (output - frame) in the feather ring, over all channels."""
    rows, cols, ring = _band(comp, 0.2, 0.8)
    return float((out[rows, cols].astype(float) - frame[rows, cols])[ring].mean())


def test_colour_match_removes_the_colour_step(target):
    frame, _alignment, crop, _lm = target
    brighter = cv2.add(crop, np.full_like(crop, 40))
    plain = _compositor(target, blend="feather").paste(brighter).copy()
    matched = _compositor(target, colour_match=True).paste(brighter).copy()
    assert _step(plain, frame, _compositor(target)) > 10.0  # a visible step without matching
    assert abs(_step(matched, frame, _compositor(target))) < 3.0
    comp = _compositor(target, colour_match=True)
    rows, cols, face = _band(comp, 0.9, 1.01)
    inside = (matched[rows, cols].astype(float) - frame[rows, cols])[face].mean()
    assert abs(inside) < 5.0  # the whole face is brought back, not just the ring


def test_neutral_frame_is_the_untouched_target(target):
    frame, _alignment, crop, _lm = target
    comp = _compositor(target)
    comp.paste(cv2.add(crop, np.full_like(crop, 60)))
    assert np.array_equal(comp._frame, frame)  # the compositor's read-only copy


def test_bad_input_raises(target):
    frame, alignment, crop, landmarks = target
    comp = _compositor(target)
    with pytest.raises(InputError, match="rendered crop"):
        comp.paste(crop[:100])
    with pytest.raises(InputError, match="target frame"):
        Compositor(target_frame=frame[..., 0], alignment=alignment, target_landmarks_crop=landmarks)
