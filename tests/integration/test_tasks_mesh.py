"""The Tasks FaceLandmarker stand-in (reenact.landmarks.tasks_mesh) with the bundled face models:
the real tracker on real clips and portraits, its agreement with the legacy face mesh where both
are installed, and the bundle script (scripts/build_face_task.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from reenact.config.schema import TrackerConfig
from reenact.landmarks import tasks_mesh, tracker
from reenact.landmarks.align import inter_ocular_distance
from reenact.landmarks.tracker import NUM_LANDMARKS, FaceTracker, detect_target_face
from reenact.video import read_frames

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_face_task.py"
FRAMES = 40


def _legacy_installed() -> bool:
    try:
        return importlib.util.find_spec("mediapipe.python.solutions") is not None
    except ModuleNotFoundError:
        return False


LEGACY = _legacy_installed()
needs_legacy = pytest.mark.skipif(not LEGACY, reason="needs mediapipe 0.10.x (legacy solutions)")


@pytest.fixture
def tasks_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run FaceTracker on the Tasks stand-in even where the legacy solutions are installed."""
    monkeypatch.setattr(tracker, "mediapipe_solutions", lambda: tasks_mesh)


def _track(clip: Path, frames: int) -> np.ndarray:
    out = np.full((frames, NUM_LANDMARKS, 3), np.nan, dtype=np.float32)
    with FaceTracker() as face_tracker:
        for index, image in enumerate(read_frames(clip, max_frames=frames)):
            landmarks = face_tracker.track_one(image)
            if landmarks is not None:
                out[index] = landmarks
    return out


def test_the_default_backend_is_the_legacy_mesh_where_it_is_installed() -> None:
    expected = "mediapipe.python.solutions" if LEGACY else tasks_mesh.__name__
    assert tracker.mediapipe_solutions().__name__ == expected


@pytest.mark.usefixtures("tasks_backend")
def test_tasks_tracker_follows_a_real_clip(clips_dir: Path) -> None:
    """Every frame tracked, 478 points inside the frame, a plausible eye distance, and the face
    moves smoothly (no frame jumps by more than a tenth of the eye distance on average)."""
    landmarks = _track(clips_dir / "lp_d0.mp4", FRAMES)
    assert np.isfinite(landmarks).all()
    assert (landmarks[:, :, :2] >= 0).all() and (landmarks[:, :, :2] < 512).all()
    iod = np.array([inter_ocular_distance(lm) for lm in landmarks])
    assert 40 < iod.min() and iod.max() < 200
    step = np.linalg.norm(np.diff(landmarks[:, :, :2], axis=0), axis=2).mean(axis=1)
    assert step.max() < 0.1 * iod.mean()


@pytest.mark.usefixtures("tasks_backend")
def test_tasks_tracker_finds_the_face_of_a_target_portrait(portraits_dir: Path) -> None:
    import cv2

    image = cv2.cvtColor(cv2.imread(str(portraits_dir / "lp_s0.jpg")), cv2.COLOR_BGR2RGB)
    face = detect_target_face(image, TrackerConfig(), source_name="lp_s0.jpg")
    assert face.shape == (NUM_LANDMARKS, 3)
    detector = tasks_mesh.face_detection.FaceDetection(min_detection_confidence=0.5)
    try:
        box = detector.process(image).detections[0].location_data.relative_bounding_box
    finally:
        detector.close()
    centre = face[:, :2].mean(axis=0) / (image.shape[1], image.shape[0])
    assert box.xmin < centre[0] < box.xmin + box.width
    assert box.ymin < centre[1] < box.ymin + box.height


@needs_legacy
@pytest.mark.parametrize("clip", ["hdtf_aoc.mp4", "fsgan_conan.mp4"])
def test_tasks_tracker_agrees_with_the_legacy_mesh(
    clip: str, clips_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same models, same tracking: after the first two frames (where the graphs pick their
    first region differently) the points agree to a small fraction of a pixel."""
    legacy = _track(clips_dir / clip, FRAMES)
    monkeypatch.setattr(tracker, "mediapipe_solutions", lambda: tasks_mesh)
    tasks = _track(clips_dir / clip, FRAMES)
    assert np.isfinite(legacy).all() and np.isfinite(tasks).all()
    distance = np.linalg.norm(legacy[2:, :, :2] - tasks[2:, :, :2], axis=2)
    assert distance.mean() < 0.2
    assert np.percentile(distance, 99) < 1.0
    assert np.linalg.norm(legacy[0, :, :2] - tasks[0, :, :2], axis=1).mean() < 0.1


@needs_legacy
def test_the_bundle_is_what_the_script_builds(tmp_path: Path) -> None:
    out = tmp_path / "face.task"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert out.read_bytes() == tasks_mesh.BUNDLE.read_bytes()
    with zipfile.ZipFile(out) as bundle:
        assert sorted(bundle.namelist()) == [
            "face_detector.tflite",
            "face_landmarks_detector.tflite",
        ]


def test_the_script_refuses_a_wheel_without_face_models(tmp_path: Path) -> None:
    wheel = tmp_path / "mediapipe-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mediapipe/__init__.py", "")
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--wheel", str(wheel), "--out", str(tmp_path / "x.task")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and str(wheel) in lines[0] and "face_detection" in lines[0]
    assert not (tmp_path / "x.task").exists()


def test_a_missing_bundle_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tasks_mesh, "BUNDLE", tmp_path / "gone.task")
    tasks_mesh._bundle_bytes.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="gone.task"):
            tasks_mesh.face_mesh.FaceMesh()
    finally:
        tasks_mesh._bundle_bytes.cache_clear()
