"""The face mesh through MediaPipe's Tasks `FaceLandmarker`, for MediaPipe releases (1.x) that
no longer carry the legacy `solutions` or any face model.

This module stands in for `mediapipe.python.solutions` where `FaceTracker` uses it:
`face_mesh.FaceMesh` and `face_detection.FaceDetection` with the same constructor arguments and
`process()` results, and `selfie_segmentation` (reenact.landmarks.tasks_segmentation) for the
head region's person mask. It runs the bundle in reenact/assets/face_mesh/, which
scripts/build_face_task.py builds from the Apache-2.0 models of the legacy wheels (the
short-range BlazeFace detector and the attention mesh, merged into the Tasks' two-output form),
so the 478 points are those the legacy solution tracks, without a download.

Differences from the legacy solutions: landmarks come back as (478,3) float32 arrays of
normalised coordinates (`reenact.landmarks.wire.landmarks_array` takes them as they are), and
the Tasks detector reads only the short-range model, so `model_selection=1` (faces far from the
camera) runs it on overlapping tiles as well as on the whole image.
"""

from __future__ import annotations

import zipfile
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from reenact.landmarks.tasks_closing import closes_with
from reenact.landmarks.tasks_segmentation import selfie_segmentation  # the third solution used

__all__ = ["face_detection", "face_mesh", "selfie_segmentation"]

BUNDLE = Path(__file__).resolve().parents[1] / "assets" / "face_mesh" / "face_mesh_attention.task"
DETECTOR_MEMBER = "face_detector.tflite"
# The Tasks graph smooths a single tracked face with a one-euro filter over the frame timestamps;
# frames spaced 1000 s apart make that filter pass every frame through unchanged, as the legacy
# solution (and reenact's own smoothing after it) expects.
FRAME_STEP_MS = 1_000_000


@cache
def _bundle_bytes() -> bytes:
    if not BUNDLE.is_file():
        raise FileNotFoundError(
            f"{BUNDLE}: the face model bundle is missing; rebuild it with "
            "scripts/build_face_task.py (needs a mediapipe 0.10.x wheel)"
        )
    return BUNDLE.read_bytes()


@cache
def _detector_bytes() -> bytes:
    with zipfile.ZipFile(BUNDLE) as bundle:
        return bundle.read(DETECTOR_MEMBER)


def _vision() -> tuple[Any, Any, Any]:
    """(mediapipe, its tasks `vision` module, BaseOptions), imported on first use."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    return mp, vision, BaseOptions


def _image(mp: Any, image_rgb: np.ndarray) -> Any:
    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(image_rgb))


class _FaceMesh:
    """`solutions.face_mesh.FaceMesh` on the Tasks FaceLandmarker (refined: always 478 points)."""

    def __init__(
        self,
        static_image_mode: bool = False,
        max_num_faces: int = 1,
        refine_landmarks: bool = True,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        del refine_landmarks  # the bundled mesh always has the irises
        mp, vision, base_options = _vision()
        self._mp, self._static, self._timestamp = mp, static_image_mode, 0
        mode = vision.RunningMode.IMAGE if static_image_mode else vision.RunningMode.VIDEO
        options = vision.FaceLandmarkerOptions(
            base_options=base_options(model_asset_buffer=_bundle_bytes()),
            running_mode=mode,
            num_faces=max_num_faces,
            min_face_detection_confidence=min_detection_confidence,
            # the legacy solution keeps a tracked face while its presence passes this threshold
            min_face_presence_confidence=(
                min_detection_confidence if static_image_mode else min_tracking_confidence
            ),
            min_tracking_confidence=min_tracking_confidence,
        )
        self._landmarker = vision.FaceLandmarker.create_from_options(options)
        self._close = closes_with(self, self._landmarker)

    def process(self, image_rgb: np.ndarray) -> SimpleNamespace:
        """One frame: `.multi_face_landmarks` is a list of (478,3) float32 normalised points,
        or None when no face is found (as the legacy result)."""
        image = _image(self._mp, image_rgb)
        if self._static:
            result = self._landmarker.detect(image)
        else:
            result = self._landmarker.detect_for_video(image, self._timestamp)
            self._timestamp += FRAME_STEP_MS
        faces = [
            np.array([(p.x, p.y, p.z) for p in face], dtype=np.float32)
            for face in result.face_landmarks
        ]
        return SimpleNamespace(multi_face_landmarks=faces or None)

    def close(self) -> None:
        self._landmarker = None
        self._close()


TILES_PER_SIDE = 2  # model_selection=1: tiles half the shorter side, overlapping by half
SAME_FACE_IOU = 0.3  # boxes from overlapping tiles that overlap this much are one face


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _tiles(height: int, width: int) -> list[tuple[int, int, int]]:
    """(x0, y0, side) of square tiles covering the image, each overlapping the next by half."""
    side = max(1, min(height, width) // TILES_PER_SIDE)
    step = max(1, side // 2)
    xs = list(range(0, max(width - side, 0) + 1, step)) + [max(width - side, 0)]
    ys = list(range(0, max(height - side, 0) + 1, step)) + [max(height - side, 0)]
    return [(x, y, side) for y in sorted(set(ys)) for x in sorted(set(xs))]


class _FaceDetection:
    """`solutions.face_detection.FaceDetection` on the Tasks FaceDetector (short-range model)."""

    def __init__(self, model_selection: int = 0, min_detection_confidence: float = 0.5) -> None:
        mp, vision, base_options = _vision()
        self._mp, self._tiled = mp, model_selection == 1
        options = vision.FaceDetectorOptions(
            base_options=base_options(model_asset_buffer=_detector_bytes()),
            min_detection_confidence=min_detection_confidence,
        )
        self._detector = vision.FaceDetector.create_from_options(options)
        self._close = closes_with(self, self._detector)

    def process(self, image_rgb: np.ndarray) -> SimpleNamespace:
        """`.detections`, each with `.location_data.relative_bounding_box` (xmin, ymin, width,
        height as fractions of the image), most confident first; None when there are none."""
        height, width = image_rgb.shape[:2]
        boxes = self._boxes(image_rgb, 0, 0)  # (score, x0, y0, x1, y1) in image pixels
        if self._tiled:
            for x0, y0, side in _tiles(height, width):
                boxes += self._boxes(image_rgb[y0 : y0 + side, x0 : x0 + side], x0, y0)
        kept: list[np.ndarray] = []
        for box in sorted(boxes, key=lambda b: -b[0]):
            if all(_iou(box[1:], other[1:]) < SAME_FACE_IOU for other in kept):
                kept.append(box)
        detections = [
            SimpleNamespace(
                score=[float(b[0])],
                location_data=SimpleNamespace(
                    relative_bounding_box=SimpleNamespace(
                        xmin=b[1] / width,
                        ymin=b[2] / height,
                        width=(b[3] - b[1]) / width,
                        height=(b[4] - b[2]) / height,
                    )
                ),
            )
            for b in kept
        ]
        return SimpleNamespace(detections=detections or None)

    def _boxes(self, image_rgb: np.ndarray, x0: int, y0: int) -> list[np.ndarray]:
        from reenact.landmarks.native_stderr import quiet_stderr

        # LiteRT warns once, on whichever call first meets an unaligned input tensor, which a
        # warm-up frame does not reliably reach: every call is a quiet window (a few a second)
        with quiet_stderr():
            result = self._detector.detect(_image(self._mp, image_rgb))
        return [
            np.array(
                [
                    d.categories[0].score,
                    x0 + d.bounding_box.origin_x,
                    y0 + d.bounding_box.origin_y,
                    x0 + d.bounding_box.origin_x + d.bounding_box.width,
                    y0 + d.bounding_box.origin_y + d.bounding_box.height,
                ],
                dtype=np.float64,
            )
            for d in result.detections
        ]

    def close(self) -> None:
        self._detector = None
        self._close()


face_mesh = SimpleNamespace(FaceMesh=_FaceMesh)
face_detection = SimpleNamespace(FaceDetection=_FaceDetection)
