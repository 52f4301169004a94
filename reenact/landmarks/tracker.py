"""MediaPipe face mesh (478 points with iris) behind a small, explicit API.

`FaceTracker` wraps `mediapipe.solutions.face_mesh.FaceMesh`. In video mode (`static=False`) it
tracks from frame to frame (the detector runs only when the face is lost); in static mode every
image is detected afresh. Landmarks come back as (478,3) float32 in pixels of the given image:
(x*W, y*H, z*W).

`detect_target_face` finds the one face of a target portrait with clear errors for no face,
several faces and too small a face, and copes with huge images.

MediaPipe is imported lazily, on the first tracker built, with its C++ log noise turned down.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from reenact.config.schema import TrackerConfig
from reenact.errors import InputError
from reenact.landmarks.align import inter_ocular_distance

log = logging.getLogger(__name__)

NUM_LANDMARKS = 478
FACE_WIDTH_PER_IOD = 2.5  # face width ~ 2.5 x the eye-centre distance

# Points for the head-yaw estimate: cheeks (image-left 234, image-right 454), forehead 10,
# chin 152.
_CHEEK_L, _CHEEK_R, _FOREHEAD, _CHIN = 234, 454, 10, 152


# MediaPipe / TFLite start-up chatter, written by C++ straight to fd 2 (GLOG_minloglevel does not
# reach absl's pre-init logging): dropped while a tracker starts; anything else is passed on.
_NOISE = re.compile(
    rb"^(INFO: Created TensorFlow Lite|WARNING: All log messages before absl|"
    rb"[WI]\d{4} .*(inference_feedback_manager|landmark_projection_calculator|gl_context))"
)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Capture fd 2 for the duration; re-emit every line that is not known MediaPipe noise."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # pytest capture, notebooks: leave alone
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            kept = [line for line in sink.read().splitlines(True) if not _NOISE.match(line)]
            if kept:
                os.write(fd, b"".join(kept))


def _face_mesh_module() -> Any:
    """Import mediapipe's face mesh quietly (GLOG/TF log levels are set before the import)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from mediapipe.python.solutions import face_mesh  # noqa: PLC0415 (lazy on purpose)

    return face_mesh


def _to_array(face: Any, width: int, height: int) -> np.ndarray:
    """A NormalizedLandmarkList -> (478,3) float32 pixels (x*W, y*H, z*W)."""
    pts = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)
    pts *= np.array([width, height, width], dtype=np.float32)
    return pts


def face_size_px(landmarks: np.ndarray) -> float:
    """Face width in pixels, estimated as 2.5 x the eye-centre distance."""
    return FACE_WIDTH_PER_IOD * inter_ocular_distance(landmarks)


def _bbox_area(landmarks: np.ndarray) -> float:
    span = landmarks[:, :2].max(axis=0) - landmarks[:, :2].min(axis=0)
    return float(span[0] * span[1])


def head_yaw_deg(landmarks: np.ndarray) -> float:
    """Head turn (yaw) in degrees from the mesh: 0 = facing the camera.

    The face plane's normal is the cross product of the cheek-to-cheek axis (234 -> 454) and the
    forehead-to-chin axis (10 -> 152), in pixels with MediaPipe's z (same scale as x). Yaw is the
    normal's angle from the camera axis in the x-z plane; its sign says which way the head turned
    (positive = the face points towards image-right). Good to ~5-10 degrees: enough to call a
    face "lost" beyond `TrackerConfig.max_yaw_deg`.

    landmarks: (478,3) pixels.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    across = lm[_CHEEK_R] - lm[_CHEEK_L]
    down = lm[_CHIN] - lm[_FOREHEAD]
    normal = np.cross(across, down)  # points away from the camera (+z) for a frontal face
    return float(math.degrees(math.atan2(-normal[0], normal[2])))


class FaceTracker:
    """MediaPipe face mesh with refined (iris) landmarks; a context manager.

    config: the tracker section (max faces, confidences, which face to pick).
    static: True = every image detected afresh (photos); False = video tracking.
    """

    def __init__(self, config: TrackerConfig | None = None, *, static: bool = False) -> None:
        self.config = config if config is not None else TrackerConfig()
        self.static = static
        self._quiet_until_face = True  # the landmark branch logs once, on the first face
        with _quiet_stderr():
            face_mesh = _face_mesh_module()
            self._mesh = face_mesh.FaceMesh(
                static_image_mode=static,
                max_num_faces=self.config.max_faces,
                refine_landmarks=True,
                min_detection_confidence=self.config.min_detection_confidence,
                min_tracking_confidence=self.config.min_tracking_confidence,
            )
            # Warm up on a blank frame: the graph's calculators open (and log) on threads, and
            # process() waits until the graph is idle, so the chatter lands inside this window
            # and the first real frame is not slowed by initialisation.
            self._mesh.process(np.zeros((64, 64, 3), dtype=np.uint8))

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release MediaPipe's graph. Safe to call more than once."""
        mesh, self._mesh = self._mesh, None
        if mesh is not None:
            mesh.close()

    def track(self, image_rgb: np.ndarray) -> list[np.ndarray]:
        """All faces in one frame, largest (bounding-box area) first.

        image_rgb: (H,W,3) uint8 RGB. Returns a list of (478,3) float32 pixel landmarks
        (empty when no face is found).
        """
        if self._mesh is None:
            raise RuntimeError("FaceTracker is closed")
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"expected (H,W,3) uint8 RGB, got {image_rgb.shape} {image_rgb.dtype}")
        height, width = image_rgb.shape[:2]
        image_rgb = np.ascontiguousarray(image_rgb)
        if self._quiet_until_face:
            with _quiet_stderr():
                result = self._mesh.process(image_rgb)
            self._quiet_until_face = not result.multi_face_landmarks
        else:
            result = self._mesh.process(image_rgb)
        faces = result.multi_face_landmarks or []
        arrays = [_to_array(f, width, height) for f in faces]
        arrays = [a for a in arrays if a.shape[0] == NUM_LANDMARKS]
        arrays.sort(key=_bbox_area, reverse=True)
        return arrays

    def track_one(self, image_rgb: np.ndarray) -> np.ndarray | None:
        """The face chosen by `config.face_index` (-1 = largest, else the i-th from the left).

        Returns (478,3) float32 pixels, or None when no (such) face is found.
        """
        faces = self.track(image_rgb)
        if not faces:
            return None
        index = self.config.face_index
        if index < 0:
            return faces[0]
        by_x = sorted(faces, key=lambda lm: float(lm[:, 0].mean()))
        return by_x[index] if index < len(by_x) else None


def _resize(image: np.ndarray, factor: float) -> np.ndarray:
    height, width = image.shape[:2]
    dsize = (max(1, round(width * factor)), max(1, round(height * factor)))
    interp = cv2.INTER_AREA if factor < 1.0 else cv2.INTER_CUBIC
    return cv2.resize(image, dsize, interpolation=interp)


def _track_static(image: np.ndarray, config: TrackerConfig) -> list[np.ndarray]:
    with FaceTracker(config, static=True) as tracker:
        return tracker.track(image)


def _track_resized(image: np.ndarray, config: TrackerConfig) -> list[np.ndarray]:
    """Track on a copy no longer than `config.max_image_side`; landmarks in `image` pixels."""
    longer = max(image.shape[:2])
    if longer <= config.max_image_side:
        return _track_static(image, config)
    factor = config.max_image_side / longer
    faces = _track_static(_resize(image, factor), config)
    return [f / np.float32(factor) for f in faces]


def _face_box(landmarks: np.ndarray, image_shape: tuple[int, ...], margin: float) -> tuple[int, ...]:
    """A square box around the face, `margin` x its larger side, clipped to the image."""
    lo = landmarks[:, :2].min(axis=0)
    hi = landmarks[:, :2].max(axis=0)
    centre = (lo + hi) / 2
    half = margin * float((hi - lo).max()) / 2
    height, width = image_shape[:2]
    x0, y0 = (max(0, math.floor(c - half)) for c in centre)
    x1 = min(width, math.ceil(centre[0] + half))
    y1 = min(height, math.ceil(centre[1] + half))
    return x0, y0, x1, y1


def _retrack_crop(
    image: np.ndarray, landmarks: np.ndarray, config: TrackerConfig, face_px: float
) -> np.ndarray | None:
    """Re-track the face on a crop around it, resized so the face is `face_px` wide.

    Returns (478,3) float32 in `image` pixels, or None if the face is not found again.
    """
    x0, y0, x1, y1 = _face_box(landmarks, image.shape, margin=2.0)
    factor = face_px / max(face_size_px(landmarks), 1e-6)
    crop = _resize(np.ascontiguousarray(image[y0:y1, x0:x1]), factor)
    faces = _track_static(crop, config)
    if not faces:
        return None
    # pick the face nearest the one we asked for (the crop may hold part of a neighbour)
    want = (landmarks[:, :2].mean(axis=0) - (x0, y0)) * factor
    best = min(faces, key=lambda f: float(np.hypot(*(f[:, :2].mean(axis=0) - want))))
    out = best / np.float32(factor)
    out[:, 0] += x0
    out[:, 1] += y0
    return out


def detect_target_face(image_rgb: np.ndarray, config: TrackerConfig, *, source_name: str) -> np.ndarray:
    """The one face of a target image, in static mode, with errors a person can act on.

    image_rgb: (H,W,3) uint8 RGB of any size (larger than `config.max_image_side` is tracked on a
    resized copy, then refined on a full-resolution crop around the face).
    Returns (478,3) float32 landmarks in `image_rgb` pixels.
    Raises InputError naming `source_name` when no face is found, when several are found and
    `config.multiple_faces == "error"`, or when the face is narrower than `config.min_face_px`
    and `config.small_face == "error"` (with "upscale", a crop around the face is enlarged and
    re-tracked, and the landmarks are mapped back).
    """
    faces = _track_resized(image_rgb, config)
    if not faces:
        raise InputError(
            f"{source_name}: no face found; use an image with a clearly visible, roughly frontal face"
        )
    if len(faces) > 1 and config.multiple_faces == "error":
        raise InputError(
            f"{source_name}: {len(faces)} faces found; crop the image to one face "
            "or set tracker.multiple_faces=largest"
        )
    face = faces[0]
    width = face_size_px(face)
    if width < config.min_face_px:
        if config.small_face != "upscale":
            raise InputError(
                f"{source_name}: the face is only {width:.0f} px wide (minimum "
                f"{config.min_face_px}); use a larger image or set tracker.small_face=upscale"
            )
        refined = _retrack_crop(image_rgb, face, config, face_px=4.0 * config.min_face_px)
        return refined if refined is not None else face
    if max(image_rgb.shape[:2]) > config.max_image_side:
        target_px = min(width, config.max_image_side / 2.0)
        refined = _retrack_crop(image_rgb, face, config, face_px=target_px)
        return refined if refined is not None else face
    return face
