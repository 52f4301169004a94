"""The Tasks selfie segmentation stand-in (reenact.landmarks.tasks_segmentation) with the bundled
selfie model: the person mask on real portraits and clip frames, its agreement with the legacy
solution where both are installed, and the head region built on it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.landmarks import tasks_mesh, tasks_segmentation, tracker
from reenact.landmarks.tracker import FaceTracker
from reenact.video import read_frames


def _legacy_installed() -> bool:
    try:
        return importlib.util.find_spec("mediapipe.python.solutions") is not None
    except ModuleNotFoundError:
        return False


needs_legacy = pytest.mark.skipif(
    not _legacy_installed(), reason="needs mediapipe 0.10.x (legacy solutions)"
)


@pytest.fixture
def tasks_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the tracker and the person mask on the Tasks stand-ins even where the legacy
    solutions are installed."""
    monkeypatch.setattr(tracker, "mediapipe_solutions", lambda: tasks_mesh)


def _rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _frames(portraits_dir: Path, clips_dir: Path) -> dict[str, np.ndarray]:
    frames = {name: _rgb(portraits_dir / name) for name in ("lp_s0.jpg", "lp_s10.jpg")}
    for clip in ("hdtf_aoc.mp4", "fsgan_conan.mp4"):
        frames[clip] = next(iter(read_frames(clips_dir / clip, max_frames=1)))
    return frames


def _mask(solutions, image: np.ndarray) -> np.ndarray:
    segmenter = solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
    try:
        return np.asarray(segmenter.process(image).segmentation_mask, dtype=np.float32)
    finally:
        segmenter.close()


def _face_hull(image: np.ndarray) -> np.ndarray:
    with FaceTracker(static=True) as face_tracker:
        face = face_tracker.track_one(image)
    assert face is not None
    hull = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(face[:, :2]).astype(np.int32)), 1)
    return hull > 0


def test_the_tasks_backend_carries_the_selfie_segmentation() -> None:
    assert tasks_mesh.selfie_segmentation is tasks_segmentation.selfie_segmentation


@pytest.mark.usefixtures("tasks_backend")
def test_the_person_mask_holds_the_face_and_not_the_corners(portraits_dir: Path) -> None:
    """lp_s0: a head and shoulders on a plain wall; the mask covers the tracked face and leaves
    the top corners (wall) out."""
    from reenact.pipeline.head_region import person_mask

    image = _rgb(portraits_dir / "lp_s0.jpg")
    mask = person_mask(image)
    assert mask is not None and mask.shape == image.shape[:2] and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    assert mask[_face_hull(image)].mean() > 0.95
    corner = 20
    assert mask[:corner, :corner].mean() < 0.05 and mask[:corner, -corner:].mean() < 0.05


@pytest.mark.usefixtures("tasks_backend")
def test_the_head_region_is_segmented_on_the_tasks_backend(media_dir: Path) -> None:
    from reenact.config import load_config
    from reenact.pipeline.head_region import HeadRegion
    from reenact.pipeline.target import prepare_target

    target = prepare_target(
        str(media_dir / "portraits" / "lp_s10.jpg"),
        load_config(None, ["fusion.target_neutral=picture"]),
    )
    region = HeadRegion(target.frame, target.alignment, target.landmarks_crop)
    assert region.segmented
    assert 0.0 < region.alpha.mean() < 1.0


@needs_legacy
def test_the_tasks_mask_is_the_legacy_mask(portraits_dir: Path, clips_dir: Path) -> None:
    """Same model, same pre- and post-processing: the masks agree to rounding (measured: equal
    on MediaPipe 0.10.21's Tasks, within 1e-4 on 1.2.3's)."""
    from mediapipe.python import solutions

    for name, image in _frames(portraits_dir, clips_dir).items():
        legacy, tasks = _mask(solutions, image), _mask(tasks_mesh, image)
        assert legacy.shape == tasks.shape == image.shape[:2], name
        assert np.abs(legacy - tasks).max() < 1e-3, name
        people = legacy > 0.5
        assert 0.1 < people.mean() < 0.9, name  # a real person in the frame, not an empty mask
        assert ((tasks > 0.5) == people).mean() > 0.999, name


def test_only_the_general_model_is_shipped() -> None:
    with pytest.raises(ValueError, match="model_selection=1"):
        tasks_segmentation.selfie_segmentation.SelfieSegmentation(model_selection=1)


def test_a_missing_model_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tasks_segmentation, "MODEL", tmp_path / "gone.tflite")
    with pytest.raises(FileNotFoundError, match="gone.tflite"):
        tasks_segmentation.selfie_segmentation.SelfieSegmentation()


@needs_legacy
def test_the_shipped_model_is_the_legacy_wheels() -> None:
    import mediapipe

    wheel = Path(mediapipe.__file__).resolve().parent / "modules" / "selfie_segmentation"
    assert (
        tasks_segmentation.MODEL.read_bytes() == (wheel / "selfie_segmentation.tflite").read_bytes()
    )
