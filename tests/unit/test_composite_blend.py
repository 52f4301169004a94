"""No seam: the low-frequency colour match and the multi-band blend of the compositor, measured
by the eval's `seam` (`reenact_lab.metrics.seam`) on real faces and the shipped generator."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from reenact.config import Config
from reenact.config.schema import TrackerConfig
from reenact.errors import ConfigError
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.regions import REGIONS
from reenact.landmarks.tracker import detect_target_face
from reenact.pipeline.blend import LowFrequencyMatch, MultiBandBlend, compositor_options
from reenact.pipeline.blend import match_weight
from reenact.pipeline.composite import Compositor, face_mask

from reenact_lab.eval.viewer import seam_of

OLD = {"colour": "stats", "blend": "feather"}  # the compositor before multiband / lowfreq


@pytest.fixture(scope="module", params=["lp_d13", "portrait"])
def target(request, clips_dir: Path, portraits_dir: Path):
    """(frame (H,W,3), alignment, crop (256,256,3), landmarks in crop pixels (478,3))."""
    if request.param == "portrait":
        frame = cv2.cvtColor(cv2.imread(str(portraits_dir / "lp_s1.jpg")), cv2.COLOR_BGR2RGB)
    else:
        with av.open(str(clips_dir / f"{request.param}.mp4")) as container:
            frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    landmarks = detect_target_face(frame, TrackerConfig(), source_name=request.param)
    alignment = compute_alignment(landmarks, 256)
    crop = alignment.crop_image(frame)
    return frame, alignment, crop, alignment.landmarks_to_crop(landmarks).astype(np.float32)


def _paste_seam(target, crop: np.ndarray, **kwargs) -> float:
    frame, alignment, _crop, landmarks = target
    comp = Compositor(
        target_frame=frame, alignment=alignment, target_landmarks_crop=landmarks, **kwargs
    )
    return seam_of(comp.paste(crop), frame, comp)["seam"]


def _generator_like(crop: np.ndarray) -> np.ndarray:
    """What a generator does to a face: softer, brighter and a little tinted."""
    soft = cv2.GaussianBlur(crop, (0, 0), 1.5).astype(np.float32)
    return np.clip(soft * np.float32([1.15, 1.12, 1.05]) + 6, 0, 255).astype(np.uint8)


def test_seam_measure_fails_when_it_should(target):
    _frame, _alignment, crop, _lm = target
    own = _paste_seam(target, crop, blend="feather")
    brighter = cv2.convertScaleAbs(crop, alpha=1.15)
    stepped = _paste_seam(target, brighter, blend="feather")
    assert own < 0.01  # only the crop's resampling
    assert stepped > own + 0.03  # a +15 % brightness step is plainly measured


def test_new_composite_cuts_the_seam_by_three(target):
    _frame, _alignment, crop, _lm = target
    render = _generator_like(crop)
    before = _paste_seam(target, render, colour_match=True, **OLD)
    after = _paste_seam(target, render, colour_match=True)
    own = _paste_seam(target, crop, blend="feather")
    assert after - own < (before - own) / 3, (before, after, own)


def test_shipped_generator_seam_drops(target):
    """The real renderer (the shipped generator) driven by the demo's scripted smile."""
    from reenact.render import build_renderer
    from reenact.landmarks.scripted import peak_times, scripted_landmarks

    _frame, _alignment, crop, landmarks = target
    renderer = build_renderer(Config())
    if getattr(renderer, "name", "") != "generator":
        pytest.skip("no shipped generator weights")
    renderer.set_target(crop, landmarks)
    smile = dict(peak_times())["smile"]
    render = renderer.render(scripted_landmarks(landmarks, smile)).copy()
    before = _paste_seam(target, render, colour_match=True, **OLD)
    after = _paste_seam(target, render, colour_match=True)
    own = _paste_seam(target, crop, blend="feather")
    print(f"seam over the crop's own: before {before - own:.2f}, after {after - own:.2f}")
    assert after - own < 0.5 * (before - own), (before, after, own)


def test_lowfreq_match_undoes_a_smooth_shift_but_keeps_an_open_mouth(target):
    _frame, _alignment, crop, landmarks = target
    mask = face_mask(landmarks, 256)
    match = LowFrequencyMatch(target_crop=crop, ring=match_weight(mask, landmarks))
    shifted = np.clip(crop * np.float32([1.2, 1.1, 0.9]), 0, 255).astype(np.uint8)
    mouth = np.zeros((256, 256), np.uint8)
    cv2.fillConvexPoly(
        mouth, cv2.convexHull(landmarks[REGIONS["lips_outer"], :2].astype(np.int32)), 1
    )
    shifted[mouth > 0] = 20  # a dark open mouth the target does not have
    fixed = match.apply(shifted)
    face = (mask > 0.95) & (mouth == 0)
    error_before = np.abs(shifted[face].astype(float) - crop[face]).mean(axis=0)
    error_after = np.abs(fixed[face] - crop[face]).mean(axis=0)
    assert error_after.max() < 0.35 * error_before.max()
    assert fixed[mouth > 0].mean() < 40  # the mouth is not brightened towards the target's


def test_multiband_keeps_render_in_core_and_target_outside():
    rng = np.random.default_rng(0)
    target_crop = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    render = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    mask = np.zeros((256, 256), np.float32)
    mask[64:192, 64:192] = 1.0
    out = MultiBandBlend(target_crop=target_crop, mask=mask).apply(render)
    assert np.array_equal(out[:16, :16], target_crop[:16, :16])
    assert np.abs(out[112:144, 112:144].astype(int) - render[112:144, 112:144]).max() <= 1
    same = MultiBandBlend(target_crop=target_crop, mask=mask).apply(target_crop)
    assert np.array_equal(same, target_crop)


def test_auto_blend_is_multiband_only_for_a_repainting_renderer(target):
    frame, alignment, crop, landmarks = target
    render = _generator_like(crop)

    def paste(**kwargs):
        return (
            Compositor(
                target_frame=frame, alignment=alignment, target_landmarks_crop=landmarks, **kwargs
            )
            .paste(render)
            .copy()
        )

    assert np.array_equal(paste(blend="auto"), paste(blend="feather"))
    assert np.array_equal(
        paste(blend="auto", colour_match=True), paste(blend="multiband", colour_match=True)
    )
    assert not np.array_equal(paste(blend="multiband"), paste(blend="feather"))


def test_bad_blend_settings_name_the_key():
    from reenact.config import replace

    with pytest.raises(ConfigError, match="compose.blend"):
        compositor_options(replace(Config(), compose={"blend": "poisson"}))
    with pytest.raises(ConfigError, match="compose.colour_match"):
        compositor_options(replace(Config(), compose={"colour_match": "yes"}))
