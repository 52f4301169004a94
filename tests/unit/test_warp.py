"""WarpRenderer on a real portrait, checked with the real tracker on its output."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.config.schema import TrackerConfig
from reenact.errors import ConfigError, InputError
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.regions import REGIONS
from reenact.landmarks.tracker import FaceTracker, detect_target_face
from reenact.render import build_renderer, renderer_names
from reenact.render.mouth import LOWER_INNER, UPPER_INNER
from reenact.render.warp import WarpRenderer
from tests.helpers import eye_open_ratio, mouth_open_ratio

SIZE = 256
LIPS = np.unique(np.r_[REGIONS["lips_outer"], REGIONS["lips_inner"]])
EYES = np.r_[REGIONS["left_eye"], REGIONS["right_eye"]]
# the lower lip, the chin and the jaw below the mouth: what drops when a mouth opens
LOWER_FACE_FROM = 14  # the lower inner lip centre


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / max(mse, 1e-12))


def _target(path: Path, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    landmarks = detect_target_face(image, TrackerConfig(), source_name=str(path))
    alignment = compute_alignment(landmarks, size)
    return alignment.crop_image(image), alignment.landmarks_to_crop(landmarks)


@pytest.fixture(scope="module")
def target(portraits_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """A real portrait with a closed mouth: aligned crop (256,256,3) and landmarks (478,3)."""
    return _target(portraits_dir / "lp_s11.jpg")


@pytest.fixture(scope="module")
def tracker():
    with FaceTracker(TrackerConfig(), static=True) as t:
        yield t


@pytest.fixture(scope="module")
def renderer(target) -> WarpRenderer:
    r = WarpRenderer(size=SIZE)
    r.set_target(*target)
    return r


def _open_mouth(landmarks: np.ndarray, drop: float) -> np.ndarray:
    """The lower lip, chin and jaw move down by up to `drop` pixels (more near the chin)."""
    out = landmarks.copy()
    lip_y = landmarks[LOWER_FACE_FROM, 1]
    chin_y = landmarks[152, 1]
    below = (landmarks[:, 1] >= lip_y - 0.5) & (np.abs(landmarks[:, 0] - landmarks[14, 0]) < 60)
    below[UPPER_INNER] = False
    weight = np.clip((landmarks[:, 1] - lip_y) / max(chin_y - lip_y, 1.0), 0.0, 1.0)
    out[below, 1] += drop * (0.7 + 0.3 * weight[below])
    out[LOWER_INNER[1:-1], 1] = landmarks[LOWER_INNER[1:-1], 1] + drop
    return out


def test_identity_reproduces_the_target(renderer, target):
    crop, landmarks = target
    out = renderer.render(landmarks)
    assert out.shape == crop.shape and out.dtype == np.uint8
    assert psnr(out, crop) > 35.0


def test_identity_at_512(portraits_dir):
    crop, landmarks = _target(portraits_dir / "lp_s11.jpg", 512)
    r = WarpRenderer(size=512)
    r.set_target(crop, landmarks)
    assert psnr(r.render(landmarks), crop) > 35.0


def _content_shift(before: np.ndarray, after: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Where the image patch around `points` (n,2) went: (dx, dy) by template matching."""
    x0, y0 = np.floor(points.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(points.max(axis=0)).astype(int) + 3
    patch = before[y0:y1, x0:x1]
    m = 12  # search +-12 px
    area = after[y0 - m : y1 + m, x0 - m : x1 + m]
    score = cv2.matchTemplate(area, patch, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, by) = cv2.minMaxLoc(score)
    assert best > 0.8
    return np.array([bx - m, by - m], float)


def test_moved_mouth_moves_the_image_content(renderer, target):
    crop, landmarks = target
    # the mouth and the face around it move (3, 6) px, fading out 20-40 px from the mouth
    centre = landmarks[LIPS, :2].mean(axis=0)
    distance = np.hypot(*(landmarks[:, :2] - centre).T)
    weight = np.clip((40.0 - distance) / 20.0, 0.0, 1.0)
    moved = landmarks.copy()
    moved[:, :2] += weight[:, None] * np.float32([3.0, 6.0])
    out = renderer.render(moved)
    shift = _content_shift(crop, out, landmarks[REGIONS["lips_outer"], :2])
    assert shift == pytest.approx([3.0, 6.0], abs=1.0)
    eye_shift = _content_shift(crop, out, landmarks[REGIONS["right_eye"], :2])
    assert np.abs(eye_shift).max() == 0  # the rest of the face stays


def test_closing_an_eye_closes_it_in_the_image(renderer, target, tracker):
    crop, landmarks = target
    ring = REGIONS["right_eye"]
    shut = landmarks.copy()
    shut[ring[1:8], 1] = landmarks[ring[15:8:-1], 1]  # upper lid down onto the lower one
    found = tracker.track_one(renderer.render(shut))
    assert found is not None
    right_before, right_after = eye_open_ratio(landmarks)[1], eye_open_ratio(found)[1]
    left_before, left_after = eye_open_ratio(landmarks)[0], eye_open_ratio(found)[0]
    assert right_after < 0.5 * right_before
    assert left_after > 0.75 * left_before  # the other eye stays open


def _inner_mask(landmarks: np.ndarray, shrink: float) -> np.ndarray:
    poly = landmarks[REGIONS["lips_inner"], :2]
    centre = poly.mean(axis=0)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    pts = np.round((centre + shrink * (poly - centre)) * 16).astype(np.int32)
    cv2.fillPoly(mask, [pts], 1, shift=4)
    return mask.astype(bool)


def test_an_opened_mouth_is_painted_dark_not_smeared(target, tracker):
    crop, landmarks = target
    opened = _open_mouth(landmarks, 14.0)
    filled = WarpRenderer(size=SIZE)
    filled.set_target(crop, landmarks)
    smeared = WarpRenderer(size=SIZE, fill_mouth=False)
    smeared.set_target(crop, landmarks)
    out, raw = filled.render(opened), smeared.render(opened)
    inside = _inner_mask(opened, 0.8)
    middle = opened[13, 1] + 0.5 * (opened[14, 1] - opened[13, 1])  # half-way down the opening
    lower_half = inside & (np.arange(SIZE)[:, None] > middle)
    luma = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(float)
    raw_luma = cv2.cvtColor(raw, cv2.COLOR_RGB2GRAY).astype(float)
    # the back of the mouth is dark; the warp alone smears lip colour there
    assert luma[lower_half].mean() < 50
    assert raw_luma[lower_half].mean() > luma[lower_half].mean() + 25
    # outside the opening the two renders agree (the fill stays inside the lips)
    outside = ~_inner_mask(opened, 1.25)
    assert np.abs(out.astype(int) - raw)[outside].max() <= 2
    found = tracker.track_one(out)
    assert found is not None and mouth_open_ratio(found) > mouth_open_ratio(landmarks) + 0.1


def test_registry_builds_warp_and_lists_names_for_unknown():
    from reenact.config import Config, replace

    assert {"warp", "generator"} <= set(renderer_names())
    built = build_renderer(replace(Config(), renderer={"kind": "warp", "size": 512}))
    assert isinstance(built, WarpRenderer) and built.size == 512
    with pytest.raises(ConfigError, match="no-such-renderer.*auto, generator, warp"):
        build_renderer(replace(Config(), renderer={"kind": "no-such-renderer"}))


def test_bad_input_raises(target):
    crop, landmarks = target
    r = WarpRenderer(size=SIZE)
    with pytest.raises(RuntimeError):
        r.render(landmarks)
    with pytest.raises(InputError, match="target crop"):
        r.set_target(crop[:128], landmarks)
    r.set_target(crop, landmarks)
    with pytest.raises(InputError, match="fused landmarks"):
        r.render(landmarks[:100])
    broken = landmarks.copy()
    broken[5] = np.inf
    with pytest.raises(InputError, match="NaN or inf"):
        r.render(broken)
