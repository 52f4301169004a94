"""reenact_lab.eval.identity: dlib's real face descriptor on real clips and photos of real people."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from reenact.errors import InputError, ReenactError, WeightsError
from reenact_lab.eval.identity import (
    SAME_PERSON_THRESHOLD,
    IdentityEmbedder,
    face_box_from_eye_centres,
    find_model_dir,
)
from reenact_lab.metrics.landmarks import eye_centres


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _clip_frames(path: Path, indices: tuple[int, ...]) -> list[np.ndarray]:
    """Frames `indices` of a real clip as (H, W, 3) uint8 RGB, decoded by PyAV."""
    wanted: dict[int, np.ndarray] = {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in indices:
                wanted[index] = frame.to_ndarray(format="rgb24")
            if index >= max(indices):
                break
    return [wanted[i] for i in indices]


@pytest.fixture(scope="module")
def embedder() -> IdentityEmbedder:
    return IdentityEmbedder()


@pytest.fixture(scope="module")
def aoc_frames(clips_dir: Path) -> list[np.ndarray]:
    """Frames 0 and 190 (7.6 s apart, other mouth and head pose) of a real talking clip."""
    return _clip_frames(clips_dir / "hdtf_aoc.mp4", (0, 190))


def _embed(embedder: IdentityEmbedder, image: np.ndarray) -> np.ndarray:
    descriptor = embedder.embed(image)
    assert descriptor is not None, "dlib found no face in a real frontal photo"
    assert descriptor.shape == (128,) and descriptor.dtype == np.float32
    assert 1.0 < float(np.linalg.norm(descriptor)) < 2.0  # measured 1.39-1.56
    assert np.abs(descriptor).max() < 1.0
    return descriptor


def test_same_image_gives_zero_distance(embedder: IdentityEmbedder, aoc_frames: list) -> None:
    first = _embed(embedder, aoc_frames[0])
    again = _embed(embedder, aoc_frames[0].copy())
    assert embedder.distance(first, again) < 1e-6


def test_two_frames_of_one_person_are_the_same_person(
    embedder: IdentityEmbedder, aoc_frames: list
) -> None:
    start, later = (_embed(embedder, frame) for frame in aoc_frames)
    distance = embedder.distance(start, later)
    assert 0.0 < distance < SAME_PERSON_THRESHOLD  # measured 0.34


def test_two_photos_of_one_person_are_the_same_person(
    embedder: IdentityEmbedder, portraits_dir: Path
) -> None:
    # Two different photographs of one public figure (other years, light and camera).
    first = _embed(embedder, _read_rgb(portraits_dir / "lp_drv_d38.jpg"))
    second = _embed(embedder, _read_rgb(portraits_dir / "tpsmm_source.png"))
    assert embedder.distance(first, second) < SAME_PERSON_THRESHOLD  # measured 0.51


def test_different_people_are_different(
    embedder: IdentityEmbedder, portraits_dir: Path, clips_dir: Path, aoc_frames: list
) -> None:
    man = _embed(embedder, _read_rgb(portraits_dir / "lp_drv_d19.jpg"))
    woman = _embed(embedder, _read_rgb(portraits_dir / "sadtalker_people_0.png"))
    assert embedder.distance(man, woman) > SAME_PERSON_THRESHOLD  # measured 0.97
    # Two women in the same setting (frontal talking clips from one dataset).
    other_speaker = _clip_frames(clips_dir / "hdtf_katiehill.mp4", (0,))[0]
    assert embedder.distance(_embed(embedder, aoc_frames[0]), _embed(embedder, other_speaker)) > (
        SAME_PERSON_THRESHOLD  # measured 0.96
    )


def test_no_face_gives_none(embedder: IdentityEmbedder, portraits_dir: Path) -> None:
    dog = _read_rgb(portraits_dir / "lp_s25.jpg")  # a dog: no human face
    assert embedder.embed(dog) is None
    assert embedder.detect(dog) is None
    assert embedder.embed(np.full((200, 200, 3), 128, dtype=np.uint8)) is None


def test_detect_returns_the_face_box(embedder: IdentityEmbedder, portraits_dir: Path) -> None:
    image = _read_rgb(portraits_dir / "lp_drv_d19.jpg")  # 720x720, downscaled for detection
    left, top, right, bottom = embedder.detect(image)
    # The face is ~370 px wide around the image centre.
    assert 280 < right - left < 460 and 280 < bottom - top < 460
    assert left < 360 < right and top < 400 < bottom


def test_small_face_is_found_by_upsampling(embedder: IdentityEmbedder, aoc_frames: list) -> None:
    # At 80x80 the face is ~40 px: below the HOG detector's 80 px window without upsampling.
    small = cv2.resize(aoc_frames[0], (80, 80), interpolation=cv2.INTER_AREA)
    full = _embed(embedder, aoc_frames[0])
    assert embedder.distance(_embed(embedder, small), full) < SAME_PERSON_THRESHOLD  # 0.21


def test_aligned_crop_skips_detection(embedder: IdentityEmbedder, aoc_frames: list) -> None:
    image = aoc_frames[0]
    full = _embed(embedder, image)
    left, top, right, bottom = embedder.detect(image)
    cx, cy, half = (left + right) // 2, (top + bottom) // 2, int(0.65 * (right - left))
    crop = np.ascontiguousarray(image[max(cy - half, 0) : cy + half, max(cx - half, 0) : cx + half])
    from_crop = embedder.embed_aligned_crop(crop)
    assert from_crop.shape == (128,)
    assert embedder.distance(from_crop, full) < 0.2  # measured 0.08
    # A degraded (heavily blurred) face still reads as the same person.
    blurred = cv2.GaussianBlur(crop, (0, 0), 6.0)
    assert embedder.distance(embedder.embed_aligned_crop(blurred), full) < SAME_PERSON_THRESHOLD


def test_box_from_eye_centres_matches_detection(
    embedder: IdentityEmbedder, portraits_dir: Path
) -> None:
    import mediapipe as mp

    image = _read_rgb(portraits_dir / "sadtalker_people_0.png")
    height, width = image.shape[:2]
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True) as mesh:
        face = mesh.process(image).multi_face_landmarks[0].landmark
    landmarks = np.array([(p.x * width, p.y * height) for p in face], dtype=np.float32)
    box = face_box_from_eye_centres(eye_centres(landmarks))
    detected = embedder.detect(image)
    assert np.abs(np.subtract(box, detected)).max() < 0.2 * (detected[2] - detected[0])
    from_box = embedder.embed_aligned_crop(image, box)
    assert embedder.distance(from_box, _embed(embedder, image)) < 0.15  # measured 0.05


def test_bad_inputs_raise(embedder: IdentityEmbedder, aoc_frames: list) -> None:
    with pytest.raises(InputError, match="uint8"):
        embedder.embed(aoc_frames[0].astype(np.float32))
    with pytest.raises(InputError, match=r"\(H,W,3\)"):
        embedder.embed(aoc_frames[0][..., 0])
    with pytest.raises(InputError, match="box"):
        embedder.embed_aligned_crop(aoc_frames[0], (10, 10, 5, 50))
    with pytest.raises(InputError, match="shapes differ"):
        embedder.distance(np.zeros(128), np.zeros(64))
    with pytest.raises(InputError, match="coincide"):
        face_box_from_eye_centres(np.zeros((2, 2)))


def test_missing_dlib_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)  # makes `import dlib` raise ImportError
    with pytest.raises(ReenactError, match=r"pip install 'reenact\[eval\]'"):
        IdentityEmbedder()


def test_missing_model_files_say_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"dlib_face_recognition_resnet_model_v1\.dat.*reenact"):
        IdentityEmbedder(model_dir=tmp_path)
    with pytest.raises(ReenactError, match="detector"):
        IdentityEmbedder(detector="mtcnn")


def test_models_are_found_without_importing_the_package() -> None:
    folder = find_model_dir()
    assert (folder / "dlib_face_recognition_resnet_model_v1.dat").is_file()
    assert (folder / "shape_predictor_5_face_landmarks.dat").is_file()
    code = (
        "import sys\n"
        "from reenact_lab.eval.identity import find_model_dir\n"
        "find_model_dir()\n"
        "assert 'face_recognition_models' not in sys.modules\n"
        "assert 'pkg_resources' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_cnn_detector_finds_a_face_hog_misses(
    embedder: IdentityEmbedder, portraits_dir: Path
) -> None:
    tilted = _read_rgb(portraits_dir / "lp_drv_d8.jpg")  # tilted head, glasses, hand-held photo
    assert embedder.embed(tilted) is None
    cnn = IdentityEmbedder(detector="cnn", detect_max_side=320)  # ~2 s a call on CPU
    descriptor = cnn.embed(tilted)
    assert descriptor is not None and descriptor.shape == (128,)
