"""reenact_lab.metrics.image on real portraits, real clip frames and real MediaPipe landmarks."""

from __future__ import annotations

import math
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from reenact.errors import InputError, ReenactError
from reenact_lab.metrics.image import l1, psnr, ssim, ssim_map, temporal_ssim
from reenact_lab.metrics.landmarks import (
    eye_centres,
    head_motion,
    inter_ocular_distance,
    landmark_error,
    landmark_jitter,
    stillest_stretch,
)

PORTRAIT = "lp_drv_d19.jpg"  # a frontal photo, 720x720
MOUTH = np.array([0, 13, 14, 17, 61, 78, 291, 308, 37, 267, 84, 314])  # lips, not head anchors


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _clip_frames(path: Path, count: int) -> list[np.ndarray]:
    """The first `count` frames of a real clip as (H, W, 3) uint8 RGB, decoded by PyAV."""
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == count:
                break
    return frames


def _track(image_rgb: np.ndarray) -> np.ndarray:
    """(478, 3) float32 pixel landmarks of the one face, MediaPipe face mesh run directly (the
    legacy solution, or the Tasks stand-in on MediaPipe 1.x)."""
    from reenact.landmarks.tracker import mediapipe_solutions
    from reenact.landmarks.wire import landmarks_array

    height, width = image_rgb.shape[:2]
    mesh = mediapipe_solutions().face_mesh.FaceMesh(
        static_image_mode=True, refine_landmarks=True, max_num_faces=1
    )
    try:
        result = mesh.process(image_rgb)
    finally:
        mesh.close()
    assert result.multi_face_landmarks, "MediaPipe found no face in the test portrait"
    return landmarks_array(result.multi_face_landmarks[0], width, height)


@pytest.fixture(scope="module")
def portrait_full(portraits_dir: Path) -> np.ndarray:
    return _read_rgb(portraits_dir / PORTRAIT)


@pytest.fixture(scope="module")
def crop(portrait_full: np.ndarray) -> np.ndarray:
    """A 256x256 face crop of the real portrait (the size the networks work at)."""
    face = portrait_full[160:640, 140:620]
    return cv2.resize(face, (256, 256), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def landmarks(portrait_full: np.ndarray) -> np.ndarray:
    return _track(portrait_full)


# ----------------------------------------------------------------------------- SSIM / PSNR / L1


def test_identical_images_score_perfectly(crop: np.ndarray) -> None:
    copy = crop.copy()
    assert ssim(crop, copy) == pytest.approx(1.0, abs=1e-9)
    assert psnr(crop, copy) == math.inf
    assert l1(crop, copy) == 0.0


def test_shift_scores_worse_than_blur(crop: np.ndarray) -> None:
    shifted = np.roll(crop, 4, axis=1)
    blurred = cv2.GaussianBlur(crop, (5, 5), 1.0)
    assert ssim(crop, shifted) < ssim(crop, blurred) < 1.0
    assert psnr(crop, shifted) < psnr(crop, blurred) < math.inf
    assert l1(crop, shifted) > l1(crop, blurred) > 0.0
    # More shift, worse scores.
    more = np.roll(crop, 8, axis=1)
    assert ssim(crop, more) < ssim(crop, shifted)
    assert psnr(crop, more) < psnr(crop, shifted)


def _noisy(image: np.ndarray) -> np.ndarray:
    noise = np.random.default_rng(0).normal(0.0, 12.0, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("kind", ["shift", "blur", "noise", "gray_shift", "dark"])
def test_ssim_agrees_with_skimage(crop: np.ndarray, kind: str) -> None:
    a = crop
    if kind == "shift":
        b = np.roll(a, (3, -2), axis=(0, 1))
    elif kind == "blur":
        b = cv2.GaussianBlur(a, (7, 7), 2.0)
    elif kind == "noise":
        b = _noisy(a)
    elif kind == "dark":
        b = (a // 3).astype(np.uint8)
    else:
        a = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        b = np.roll(a, 5, axis=0)
    expected = structural_similarity(
        a,
        b,
        channel_axis=-1 if a.ndim == 3 else None,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
    )
    assert ssim(a, b) == pytest.approx(expected, abs=1e-4)


def test_ssim_on_non_square_full_portrait(portrait_full: np.ndarray) -> None:
    a = portrait_full[:700, :530]
    b = cv2.GaussianBlur(a, (3, 3), 0.8)
    expected = structural_similarity(
        a,
        b,
        channel_axis=-1,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
    )
    assert ssim(a, b) == pytest.approx(expected, abs=1e-4)


def test_ssim_mask_averages_only_the_masked_pixels(crop: np.ndarray) -> None:
    damaged = crop.copy()
    damaged[:100, :100] = _noisy(crop[:100, :100])
    untouched = np.zeros(crop.shape[:2], dtype=bool)
    untouched[140:, 140:] = True
    touched = np.zeros_like(untouched)
    touched[:90, :90] = True
    assert ssim(crop, damaged, mask=untouched) == pytest.approx(1.0, abs=1e-9)
    assert ssim(crop, damaged, mask=touched) < ssim(crop, damaged) < 1.0
    assert ssim_map(crop, damaged).shape == crop.shape[:2]
    with pytest.raises(InputError, match="mask"):
        ssim(crop, damaged, mask=np.zeros_like(untouched))
    with pytest.raises(InputError, match="mask"):
        ssim(crop, damaged, mask=untouched[:10])


def test_psnr_and_l1_values(crop: np.ndarray) -> None:
    half = (crop // 2).astype(np.uint8)  # <= 127, so +5 cannot clip
    brighter = half + np.uint8(5)
    assert psnr(half, brighter) == pytest.approx(10 * math.log10(255**2 / 25))
    assert l1(half, brighter) == pytest.approx(5 / 255)
    assert l1(brighter, half) == pytest.approx(5 / 255)  # no uint8 wrap-around


def test_bad_image_inputs_raise(crop: np.ndarray) -> None:
    with pytest.raises(InputError, match="shape"):
        ssim(crop, crop[:128])
    with pytest.raises(InputError, match="uint8"):
        psnr(crop, crop.astype(np.float32))
    with pytest.raises(ReenactError, match=r"\(H,W\)"):
        l1(crop[..., :2], crop[..., :2])
    with pytest.raises(InputError, match="11"):
        ssim(crop[:8, :8], crop[:8, :8])


# ----------------------------------------------------------------------------- temporal SSIM


def test_temporal_ssim_of_a_still_frame_is_one(crop: np.ndarray) -> None:
    mean, per_pair = temporal_ssim(crop.copy() for _ in range(5))
    assert mean == pytest.approx(1.0, abs=1e-9)
    assert per_pair == pytest.approx([1.0] * 4, abs=1e-9)


def test_temporal_ssim_of_a_real_clip(clips_dir: Path) -> None:
    talking = _clip_frames(clips_dir / "hdtf_aoc.mp4", 12)
    mean, per_pair = temporal_ssim(iter(talking))
    assert len(per_pair) == 11
    assert 0.5 < mean < 1.0
    assert all(0.5 < value < 1.0 for value in per_pair)
    # A cut to another person is the least smooth pair by far.
    other = _clip_frames(clips_dir / "hdtf_katiehill.mp4", 3)
    _, spliced = temporal_ssim(talking[:3] + other)
    assert spliced[2] < min(spliced[:2] + spliced[3:]) - 0.1
    assert spliced[2] < min(per_pair)


def test_temporal_ssim_needs_two_frames(crop: np.ndarray) -> None:
    with pytest.raises(InputError, match="2 frames"):
        temporal_ssim([crop])


# ----------------------------------------------------------------------------- landmarks


def test_eye_centres_and_iod_of_a_real_face(landmarks: np.ndarray) -> None:
    centres = eye_centres(landmarks)
    assert centres.shape == (2, 2)
    iod = inter_ocular_distance(landmarks)
    # The portrait's face is ~370 px wide: eye centres ~150 px apart, at one height.
    assert 100 < iod < 220
    assert abs(centres[0, 1] - centres[1, 1]) < 0.1 * iod
    assert centres[0, 0] < centres[1, 0]  # subject's right eye is image-left
    sequence = np.stack([landmarks, landmarks * 2])
    assert inter_ocular_distance(sequence) == pytest.approx([iod, 2 * iod], rel=1e-6)


def test_landmark_error_is_zero_for_identical(landmarks: np.ndarray) -> None:
    assert landmark_error(landmarks, landmarks.copy()) == 0.0


def test_landmark_error_scales_with_displacement_over_iod(landmarks: np.ndarray) -> None:
    iod = inter_ocular_distance(landmarks)
    shifted = landmarks + np.array([3.0, 4.0, 0.0], dtype=np.float32)  # 5 px everywhere
    assert landmark_error(shifted, landmarks) == pytest.approx(5.0 / iod, rel=1e-4)
    # Random directions, fixed 2 px length per point.
    angles = np.random.default_rng(1).uniform(0, 2 * np.pi, len(landmarks))
    offsets = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    jittered = landmarks[:, :2] + offsets
    assert landmark_error(jittered, landmarks) == pytest.approx(2.0 / iod, rel=1e-4)
    assert landmark_error(landmarks[:, :2] + 2 * offsets, landmarks) == pytest.approx(
        4.0 / iod, rel=1e-4
    )
    # Normalised: the same relative error on a face twice the size gives the same number.
    assert landmark_error(2 * jittered, 2 * landmarks[:, :2]) == pytest.approx(2.0 / iod, rel=1e-4)
    # z is ignored: a depth change alone is no error, and 2-D vs 3-D sets compare.
    deeper = landmarks + np.array([0.0, 0.0, 30.0], dtype=np.float32)
    assert landmark_error(deeper, landmarks) == 0.0


def test_landmark_inputs_are_checked(landmarks: np.ndarray) -> None:
    with pytest.raises(InputError, match="478"):
        landmark_error(landmarks[:468], landmarks[:468])
    with pytest.raises(InputError, match="eye centres coincide"):
        landmark_error(landmarks, np.zeros_like(landmarks))
    with pytest.raises(InputError, match="2 frames"):
        landmark_jitter(landmarks[None])


def test_landmark_jitter(landmarks: np.ndarray) -> None:
    iod = inter_ocular_distance(landmarks)
    still = np.stack([landmarks] * 6)
    assert landmark_jitter(still) == 0.0
    step = np.array([0.0, 3.0, 0.0], dtype=np.float32)
    shaking = np.stack([landmarks + (i % 2) * step for i in range(6)])
    assert landmark_jitter(shaking) == pytest.approx(3.0 / iod, rel=1e-4)


def test_landmark_jitter_of_a_real_tracked_clip(clips_dir: Path) -> None:
    frames = _clip_frames(clips_dir / "lp_d1.mp4", 6)
    sequence = np.stack([_track(frame) for frame in frames])
    jitter = landmark_jitter(sequence)
    # A mostly still face at 30 fps: moves, but far less than a tenth of the eye distance a frame.
    assert 0.0 < jitter < 0.1


def _synthetic_session(landmarks: np.ndarray) -> np.ndarray:
    """30 frames: head sways in 0-9 and 20-29; in 10-19 the head is still but the mouth moves."""
    sequence = []
    for t in range(30):
        frame = landmarks.copy()
        if t < 10 or t >= 20:
            frame[:, 0] += 4.0 * np.sin(t)  # head sway, every point
        else:
            frame[MOUTH, 1] += 6.0 * (t % 2)  # talking: the lips only
        sequence.append(frame)
    return np.stack(sequence)


def test_stillest_stretch_finds_the_still_head_despite_talking(landmarks: np.ndarray) -> None:
    session = _synthetic_session(landmarks)
    motion = head_motion(session)
    assert motion.shape == (29,)
    assert np.allclose(motion[10:19], 0.0)
    assert landmark_jitter(session[10:20]) > 0.0  # the mouth moves there
    assert stillest_stretch(session, 10) == (10, 20)
    start, end = stillest_stretch(session, 5)
    assert 10 <= start and end <= 20 and end - start == 5
    assert stillest_stretch(session, 30) == (0, 30)


def test_stillest_stretch_rejects_bad_lengths(landmarks: np.ndarray) -> None:
    session = _synthetic_session(landmarks)
    for length in (1, 31):
        with pytest.raises(InputError, match="length"):
            stillest_stretch(session, length)


def test_gain_over_real_divides_each_pair_by_its_real_face():
    from reenact_lab.eval.report import REAL_GAIN_FLOOR, gain_over_real

    # a renderer carrying as much as the real face shows scores 1 even where the tracker reads
    # only half of the driver (regression dilution), and half as much scores 0.5
    assert gain_over_real([0.5, 1.0], [0.5, 1.0]) == pytest.approx(1.0)
    assert gain_over_real([0.25, 0.5], [0.5, 1.0]) == pytest.approx(0.5)
    # a driver the tracker cannot read at all, or a missing value, is left out
    assert gain_over_real([0.01, 0.9], [REAL_GAIN_FLOOR / 2, 1.0]) == pytest.approx(0.9)
    assert gain_over_real([float("nan"), 0.8], [1.0, 1.0]) == pytest.approx(0.8)
    assert np.isnan(gain_over_real([0.5], [None]))
