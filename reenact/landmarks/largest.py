"""Keep a one-face video tracker on the largest face in view.

MediaPipe's face mesh, asked for one face in video mode, runs its detector only while it has no
face, and then follows the face it found first: the detector's most confident one, which is not
always the largest (a small, sharp, frontal face can outscore a large one). The live loop tracks
one face for speed (`tracker.max_faces: 0`, auto), so this check restores the rule "the largest
face drives": on the frame a face is acquired, and every `every` frames after, MediaPipe's
short-range face detector (the mesh's own detector, ~1 ms at its 128 px input) lists the faces;
when the tracked face is not in the largest box, the mesh is moved onto it by showing it two
copies of the frame with everything outside that face blanked out (the first drops the tracked
face, the second detects the only face left). A larger face entering therefore takes over within
`every` frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CHECK_EVERY = 15  # frames between checks while a face is tracked (0.5 s at 30 fps)
KEEP_MARGIN = 0.5  # the box kept visible when switching, grown by this fraction on each side


def _boxes(detections: list[Any], width: int, height: int) -> list[np.ndarray]:
    """Detections -> (x0, y0, x1, y1) pixel boxes, largest first."""
    boxes = []
    for detection in detections:
        box = detection.location_data.relative_bounding_box
        x0, y0 = box.xmin * width, box.ymin * height
        boxes.append(np.array([x0, y0, x0 + box.width * width, y0 + box.height * height]))
    boxes.sort(key=lambda b: float((b[2] - b[0]) * (b[3] - b[1])), reverse=True)
    return boxes


def _inside(landmarks: np.ndarray, box: np.ndarray) -> bool:
    """Whether the landmarks' centre (x, y) lies in `box` (x0, y0, x1, y1)."""
    x, y = landmarks[:, :2].mean(axis=0)
    return bool(box[0] <= x <= box[2] and box[1] <= y <= box[3])


def keep_only(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """A copy of `image` (H,W,3) uint8, black outside `box` grown by KEEP_MARGIN a side."""
    height, width = image.shape[:2]
    grow = KEEP_MARGIN * np.array(
        [box[0] - box[2], box[1] - box[3], box[2] - box[0], box[3] - box[1]]
    )
    x0, y0, x1, y1 = (box + grow).round().astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    out = np.zeros_like(image)
    out[y0:y1, x0:x1] = image[y0:y1, x0:x1]
    return out


class LargestFaceCheck:
    """Decides when to look for a larger face, and finds it; one per video tracker.

    detector_factory: builds MediaPipe's FaceDetection (called once, on the first check).
    """

    def __init__(self, detector_factory, *, every: int = CHECK_EVERY) -> None:
        self._factory = detector_factory
        self._detector = None
        self.every = every
        self._since = 0
        self._had_face = False

    def due(self, tracked: bool) -> bool:
        """Call once per frame with whether the mesh found a face: True on the frame a face is
        acquired and every `every` frames while one is tracked."""
        acquired = tracked and not self._had_face
        self._had_face = tracked
        self._since = 0 if acquired or not tracked else self._since + 1
        if acquired:
            return True
        if tracked and self._since >= self.every:
            self._since = 0
            return True
        return False

    def larger_face(self, image: np.ndarray, tracked: np.ndarray) -> np.ndarray | None:
        """The box (x0, y0, x1, y1) of the largest face when `tracked` (478,3) is not in it,
        else None. image: (H,W,3) uint8 RGB, contiguous."""
        if self._detector is None:
            self._detector = self._factory()
        detections = self._detector.process(image).detections or []
        if len(detections) < 2:
            return None
        largest = _boxes(detections, image.shape[1], image.shape[0])[0]
        return None if _inside(tracked, largest) else largest

    def close(self) -> None:
        detector, self._detector = self._detector, None
        if detector is not None:
            detector.close()
