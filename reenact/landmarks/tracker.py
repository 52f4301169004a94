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

import math
import os
from typing import Any

import cv2
import numpy as np

from reenact.config.schema import TrackerConfig
from reenact.errors import InputError
from reenact.landmarks.align import inter_ocular_distance
from reenact.landmarks.largest import LargestFaceCheck, keep_only
from reenact.landmarks.wire import landmarks_array
from reenact.landmarks.native_stderr import quiet_stderr

NUM_LANDMARKS = 478
FACE_WIDTH_PER_IOD = 2.5  # face width ~ 2.5 x the eye-centre distance

# Points for the head-yaw estimate: cheeks (image-left 234, image-right 454), forehead 10,
# chin 152.
_CHEEK_L, _CHEEK_R, _FOREHEAD, _CHIN = 234, 454, 10, 152


def mediapipe_solutions() -> Any:
    """Import mediapipe's solutions quietly (GLOG/TF log levels are set before the import)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from mediapipe.python import solutions
    except ImportError:  # MediaPipe 1.x has no legacy solutions: the Tasks stand-in
        from reenact.landmarks import tasks_mesh as solutions

    return solutions


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
    (positive = the face points towards image-right). A rough measure - it reads about 50 for
    a near-profile - but enough to call a face "lost" beyond `TrackerConfig.max_yaw_deg`.

    landmarks: (478,3) pixels.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    across = lm[_CHEEK_R] - lm[_CHEEK_L]
    down = lm[_CHIN] - lm[_FOREHEAD]
    normal = np.cross(across, down)  # points away from the camera (+z) for a frontal face
    return float(math.degrees(math.atan2(-normal[0], normal[2])))


AUTO_MAX_FACES = 4  # `tracker.max_faces: 0` on still images or with a face_index >= 0


def faces_to_track(config: TrackerConfig, *, static: bool) -> int:
    """How many faces MediaPipe looks for: `config.max_faces`, or for 0 (auto) one face when
    tracking video with `face_index` -1 (the largest, i.e. the one face the detector finds
    first and then tracks until it is lost; the detector then stops running, which saves ~2 ms
    a frame), else AUTO_MAX_FACES (a still image must show every face: a target with several is
    refused or the largest is picked; `face_index` >= 0 orders all faces left to right)."""
    if config.max_faces > 0:
        return config.max_faces
    return 1 if not static and config.face_index < 0 else AUTO_MAX_FACES


class FaceTracker:
    """MediaPipe face mesh with refined (iris) landmarks; a context manager.

    config: the tracker section (max faces, confidences, which face to pick).
    static: True = every image detected afresh (photos); False = video tracking (with the
    default `max_faces: 0` and `face_index: -1`, one face: see `faces_to_track`).
    """

    def __init__(self, config: TrackerConfig | None = None, *, static: bool = False) -> None:
        self.config = config if config is not None else TrackerConfig()
        self.static = static
        self._quiet_until_face = True  # the landmark branch logs once, on the first face
        with quiet_stderr():
            self._mesh = mediapipe_solutions().face_mesh.FaceMesh(
                static_image_mode=static,
                max_num_faces=faces_to_track(self.config, static=static),
                refine_landmarks=True,
                min_detection_confidence=self.config.min_detection_confidence,
                min_tracking_confidence=self.config.min_tracking_confidence,
            )
            # Warm up on a blank frame: the graph's calculators open (and log) on threads, and
            # process() waits until the graph is idle, so the chatter lands inside this window
            # and the first real frame is not slowed by initialisation.
            self._mesh.process(np.zeros((64, 64, 3), dtype=np.uint8))
        self._largest = None  # one face in video: keep it on the largest (reenact.landmarks.largest)
        if not static and faces_to_track(self.config, static=False) == 1 and self.config.face_index < 0:
            self._largest = LargestFaceCheck(self._face_detector)

    def _face_detector(self) -> Any:
        with quiet_stderr():
            detector = mediapipe_solutions().face_detection.FaceDetection(
                model_selection=0, min_detection_confidence=self.config.min_detection_confidence)
            # its calculators open (and log) on the first frame: a blank one, inside this window
            detector.process(np.zeros((64, 64, 3), dtype=np.uint8))
            return detector

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release MediaPipe's graph. Safe to call more than once."""
        mesh, self._mesh = self._mesh, None
        with quiet_stderr():  # MediaPipe 1.x logs its runtime's teardown
            if mesh is not None:
                mesh.close()
            if self._largest is not None:
                self._largest.close()

    def track(self, image_rgb: np.ndarray) -> list[np.ndarray]:
        """All faces in one frame, largest (bounding-box area) first.

        image_rgb: (H,W,3) uint8 RGB. Returns a list of (478,3) float32 pixel landmarks
        (empty when no face is found).
        """
        if self._mesh is None:
            raise RuntimeError("FaceTracker is closed")
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(
                f"expected (H,W,3) uint8 RGB, got {image_rgb.shape} {image_rgb.dtype}"
            )
        image_rgb = np.ascontiguousarray(image_rgb)
        faces = self._process(image_rgb)
        if self._largest is not None and self._largest.due(bool(faces)):
            box = self._largest.larger_face(image_rgb, faces[0])
            if box is not None:  # drop the tracked face, then detect the largest alone
                masked = keep_only(image_rgb, box)
                self._process(masked)
                faces = self._process(masked) or faces
        return faces

    def _process(self, image_rgb: np.ndarray) -> list[np.ndarray]:
        """One frame through the mesh: (478,3) float32 pixel landmarks, largest first."""
        height, width = image_rgb.shape[:2]
        if self._quiet_until_face:
            with quiet_stderr():
                result = self._mesh.process(image_rgb)
            self._quiet_until_face = not result.multi_face_landmarks
        else:
            result = self._mesh.process(image_rgb)
        faces = result.multi_face_landmarks or []
        arrays = [landmarks_array(f, width, height) for f in faces]
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


# Target images: MediaPipe samples its detector input (128 or 192 px) and the face ROI (192 px)
# bilinearly, without a low-pass, so a big image aliases. Detection therefore runs on an
# area-downscaled copy, and the landmarks are refined on a crop around the face, area-resized so
# the face is about REFINE_FACE_PX wide.
DETECT_SIDE = 1024
REFINE_FACE_PX = 384
FAR_DETECT_SIDES = (1024, 640)
FAR_DETECT_CONFIDENCE = 0.3  # low: every box is confirmed by the face mesh on its crop


def _resize(image: np.ndarray, factor: float) -> np.ndarray:
    height, width = image.shape[:2]
    dsize = (max(1, round(width * factor)), max(1, round(height * factor)))
    interp = cv2.INTER_AREA if factor < 1.0 else cv2.INTER_CUBIC
    return cv2.resize(image, dsize, interpolation=interp)


def _track_static(image: np.ndarray, config: TrackerConfig) -> list[np.ndarray]:
    with FaceTracker(config, static=True) as tracker:
        return tracker.track(image)


def _square_box(
    centre: np.ndarray, side: float, image_shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of a square of `side` around `centre`, clipped to the image."""
    height, width = image_shape[:2]
    half = side / 2
    x0, y0 = max(0, math.floor(centre[0] - half)), max(0, math.floor(centre[1] - half))
    x1, y1 = min(width, math.ceil(centre[0] + half)), min(height, math.ceil(centre[1] + half))
    return x0, y0, x1, y1


def _mesh_in_box(
    image: np.ndarray, centre: np.ndarray, side: float, factor: float, config: TrackerConfig
) -> np.ndarray | None:
    """Track the face nearest `centre` in a square crop of `side`, resized by `factor`.

    Returns (478,3) float32 in `image` pixels, or None when no face is found in the crop.
    """
    x0, y0, x1, y1 = _square_box(centre, side, image.shape)
    if min(x1 - x0, y1 - y0) < 8:
        return None
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    faces = _track_static(_resize(crop, factor) if factor != 1.0 else crop, config)
    if not faces:
        return None
    want = (np.asarray(centre) - (x0, y0)) * factor  # the crop may hold part of a neighbour
    best = min(faces, key=lambda f: float(np.hypot(*(f[:, :2].mean(axis=0) - want))))
    out = best / np.float32(factor)
    out[:, 0] += x0
    out[:, 1] += y0
    return out


def _refine(
    image: np.ndarray, face: np.ndarray, config: TrackerConfig, face_px: float
) -> np.ndarray:
    """Re-track `face` on a crop twice its size, resized so the face is `face_px` wide."""
    span = face[:, :2].max(axis=0) - face[:, :2].min(axis=0)
    centre = face[:, :2].mean(axis=0)
    factor = face_px / max(face_size_px(face), 1e-6)
    refined = _mesh_in_box(image, centre, 2.0 * float(span.max()), factor, config)
    return refined if refined is not None else face


def _far_face_boxes(image: np.ndarray, config: TrackerConfig) -> list[tuple[float, ...]]:
    """Face boxes (cx, cy, side in pixels) from MediaPipe's full-range face detector (faces up
    to ~5 m away), which finds faces too small in the frame for the face mesh's own detector."""
    height, width = image.shape[:2]
    with quiet_stderr():
        detector = mediapipe_solutions().face_detection.FaceDetection(
            model_selection=1,
            min_detection_confidence=min(FAR_DETECT_CONFIDENCE, config.min_detection_confidence),
        )
        try:
            detections = detector.process(np.ascontiguousarray(image)).detections or []
        finally:
            detector.close()
    boxes = []
    for detection in detections[: faces_to_track(config, static=True)]:
        box = detection.location_data.relative_bounding_box
        w, h = box.width * width, box.height * height
        boxes.append((box.xmin * width + w / 2, box.ymin * height + h / 2, max(w, h)))
    return boxes


def _far_faces(image: np.ndarray, config: TrackerConfig) -> list[np.ndarray]:
    """Faces too small in the frame for the mesh's detector: full-range detection on copies of
    longer side 1024 and 640 (the first that finds any), each face confirmed by the mesh on a
    crop of `image` around it. Returns (478,3) float32 in `image` pixels."""
    faces: list[np.ndarray] = []
    for side in FAR_DETECT_SIDES:
        factor = min(1.0, side / max(image.shape[:2]))
        for cx, cy, size in _far_face_boxes(_resize(image, factor), config):
            box_side = 2.0 * size / factor  # the box is the face; the mesh wants context
            centre = np.array([cx, cy]) / factor
            face = _mesh_in_box(image, centre, box_side, min(1.0, 512.0 / box_side), config)
            if face is not None:
                faces.append(face)
        if faces:
            break
    return faces


def _find_faces(image: np.ndarray, config: TrackerConfig) -> tuple[list[np.ndarray], float]:
    """All faces of a still image, largest first, in `image` pixels, found on a copy whose
    longer side is at most min(config.max_image_side, DETECT_SIDE); also that copy's scale."""
    factor = min(1.0, min(config.max_image_side, DETECT_SIDE) / max(image.shape[:2]))
    small = _resize(image, factor) if factor < 1.0 else image
    faces = [f / np.float32(factor) for f in _track_static(small, config)]
    if not faces:  # the mesh's detector is short-range: look again for faces small in the frame
        faces = sorted(_far_faces(image, config), key=_bbox_area, reverse=True)
    return faces, factor


def detect_target_face(
    image_rgb: np.ndarray, config: TrackerConfig, *, source_name: str
) -> np.ndarray:
    """The one face of a target image, in static mode, with errors a person can act on.

    image_rgb: (H,W,3) uint8 RGB of any size. Faces are found on an area-downscaled copy (longer
    side <= min(config.max_image_side, 1024)); when the face mesh's short-range detector finds
    none, MediaPipe's full-range detector looks for faces small in the frame. The chosen face is
    then re-tracked on a crop of the full image where the face is about 384 px wide.
    Returns (478,3) float32 landmarks in `image_rgb` pixels.
    Raises InputError naming `source_name` when no face is found, when several are found and
    `config.multiple_faces == "error"`, or when the face is narrower than `config.min_face_px`
    and `config.small_face == "error"` (with "upscale", a crop around the face is enlarged and
    re-tracked, and the landmarks are mapped back).
    """
    faces, factor = _find_faces(image_rgb, config)
    if not faces:
        raise InputError(
            f"{source_name}: no face found; "
            "use an image with a clearly visible, roughly frontal face"
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
        return _refine(image_rgb, face, config, face_px=REFINE_FACE_PX)
    if width > REFINE_FACE_PX or factor < 1.0:
        return _refine(image_rgb, face, config, face_px=min(width, REFINE_FACE_PX))
    return face
