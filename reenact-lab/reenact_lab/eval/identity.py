"""Identity preservation (PAPERS.md section 2): dlib's ResNet face descriptor, 128-d.

Two images of one person give descriptors less than 0.6 apart (euclidean), the threshold dlib's
model was trained for (its authors report its accuracy on a public face-verification
benchmark). The model files come from the `face-recognition-models`
package; they are located on disk without importing it (its `__init__` imports `pkg_resources`,
which recent setuptools no longer ship). They are dlib's own serialisation format, read by dlib's
C++ loaders, not Python pickles.

Install with `pip install 'reenact[eval]'` (dlib-bin, face-recognition-models).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from reenact.errors import InputError, ReenactError, WeightsError

__all__ = [
    "SAME_PERSON_THRESHOLD",
    "IdentityEmbedder",
    "face_box_from_eye_centres",
    "find_model_dir",
    "identity_distance",
]

SAME_PERSON_THRESHOLD = 0.6
DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
CNN_DETECTOR_MODEL = "mmod_human_face_detector.dat"
_INSTALL_HINT = "pip install 'reenact[eval]'"

# A dlib-detector-like box from the two eye centres, in units of their distance (IOD). Measured on
# the shared portraits: HOG boxes are 2.2-3.0 IOD wide (mean ~2.55) and centred 0.43-0.63 IOD below
# the eye midpoint (mean ~0.55).
_BOX_WIDTH_IOD = 2.5
_BOX_DROP_IOD = 0.55

Box = tuple[int, int, int, int]


def _package_dir() -> Path | None:
    """The installed `face_recognition_models` folder, found without importing the package."""
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    try:
        files = importlib.metadata.files("face_recognition_models") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == DESCRIPTOR_MODEL:
            return Path(file.locate()).parent.parent
    return None


def find_model_dir(model_dir: str | Path | None = None) -> Path:
    """The folder holding dlib's `.dat` models: `model_dir`, else the face-recognition-models one.

    Raises WeightsError naming the folder and the install command when a required file is missing.
    """
    if model_dir is None:
        package = _package_dir()
        if package is None:
            raise WeightsError(
                "face-recognition-models (dlib's face models) is not installed; "
                f"run {_INSTALL_HINT}"
            )
        model_dir = package / "models"
    folder = Path(model_dir)
    for name in (DESCRIPTOR_MODEL, SHAPE_MODEL):
        if not (folder / name).is_file():
            raise WeightsError(f"{folder / name} is missing; reinstall the models: {_INSTALL_HINT}")
    return folder


def _import_dlib() -> Any:
    try:
        import dlib
    except ImportError as error:
        raise ReenactError(
            f"identity metrics need dlib, which is not installed ({error}); run {_INSTALL_HINT}"
        ) from None
    return dlib


def _check_image(image: np.ndarray, name: str) -> np.ndarray:
    """A C-contiguous (H, W, 3) uint8 RGB array, or InputError."""
    is_rgb = isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3
    if not is_rgb or image.dtype != np.uint8:
        got = getattr(image, "shape", type(image).__name__), getattr(image, "dtype", "")
        raise InputError(f"{name}: expected an (H,W,3) uint8 RGB image, got {got}")
    return np.ascontiguousarray(image)


def face_box_from_eye_centres(eye_centres: np.ndarray) -> Box:
    """A face box shaped like dlib's detector's, from the two eye centres.

    Args:
        eye_centres: (2, 2) pixels, the centres of the two eyes (any order), e.g.
            `reenact_lab.metrics.landmarks.eye_centres(landmarks)` or
            `reenact.landmarks.align.canonical_eye_centres(size)` for a canonical crop.

    Returns:
        (left, top, right, bottom) int pixels, 2.5 inter-ocular distances wide, square, centred
        0.55 IOD below the eye midpoint. May reach outside the image; dlib handles that.
    """
    centres = np.asarray(eye_centres, dtype=np.float64).reshape(2, 2)
    iod = float(np.linalg.norm(centres[1] - centres[0]))
    if not np.isfinite(iod) or iod <= 1e-6:
        raise InputError("face_box_from_eye_centres: the two eye centres coincide")
    cx, cy = centres.mean(axis=0) + (0.0, _BOX_DROP_IOD * iod)
    half = 0.5 * _BOX_WIDTH_IOD * iod
    return (
        int(round(cx - half)),
        int(round(cy - half)),
        int(round(cx + half)),
        int(round(cy + half)),
    )


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance of two (128,) descriptors; < 0.6 means the same person."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise InputError(f"identity_distance: descriptor shapes differ, {a.shape} vs {b.shape}")
    return float(np.linalg.norm(a - b))


class IdentityEmbedder:
    """dlib's face detector, 5-point shape predictor and ResNet face descriptor.

    Loading takes about a second; reuse one instance. Not thread-safe: use one per thread.

    Args:
        model_dir: folder with the `.dat` files; default the face-recognition-models package's.
        detector: "hog" (dlib's frontal HOG detector, default, ~0.1 s at 640 px on CPU) or "cnn"
            (dlib's MMOD CNN, finds tilted and occluded faces HOG misses, ~1.5 s at 360 px on CPU).
        detect_max_side: images larger than this are downscaled for detection only (the
            descriptor always reads the full-resolution image). Faces must be about 80 px wide in
            the downscaled image; when none is found, detection is retried upsampled 2x (40 px).
    """

    def __init__(
        self,
        *,
        model_dir: str | Path | None = None,
        detector: str = "hog",
        detect_max_side: int = 640,
    ) -> None:
        if detector not in ("hog", "cnn"):
            raise ReenactError(
                f"IdentityEmbedder: detector must be 'hog' or 'cnn', got {detector!r}"
            )
        dlib = _import_dlib()
        folder = find_model_dir(model_dir)
        self._dlib = dlib
        self._detect_max_side = int(detect_max_side)
        self._shape_predictor = dlib.shape_predictor(str(folder / SHAPE_MODEL))
        self._descriptor = dlib.face_recognition_model_v1(str(folder / DESCRIPTOR_MODEL))
        if detector == "cnn":
            path = folder / CNN_DETECTOR_MODEL
            if not path.is_file():
                raise WeightsError(
                    f"{path} is missing (the CNN detector); use detector='hog' or "
                    f"reinstall: {_INSTALL_HINT}"
                )
            cnn = dlib.cnn_face_detection_model_v1(str(path))
            self._detector = lambda image, upsample: [d.rect for d in cnn(image, upsample)]
        else:
            self._detector = dlib.get_frontal_face_detector()

    # ------------------------------------------------------------------ detection

    def detect(self, image_rgb: np.ndarray) -> Box | None:
        """The largest face's box (left, top, right, bottom) in pixels of `image_rgb`, or None.

        Args:
            image_rgb: (H, W, 3) uint8 RGB.
        """
        image = _check_image(image_rgb, "IdentityEmbedder.detect")
        scale = min(1.0, self._detect_max_side / max(image.shape[:2]))
        small = image
        if scale < 1.0:
            size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        for upsample in (0, 1):
            faces = list(self._detector(small, upsample))
            if faces:
                best = max(faces, key=lambda r: r.width() * r.height())
                edges = (best.left(), best.top(), best.right(), best.bottom())
                return tuple(int(round(v / scale)) for v in edges)  # type: ignore[return-value]
        return None

    # ------------------------------------------------------------------ descriptors

    def _describe(self, image: np.ndarray, box: Sequence[int]) -> np.ndarray:
        left, top, right, bottom = (int(v) for v in box)
        if right <= left or bottom <= top:
            raise InputError(f"IdentityEmbedder: empty face box {tuple(box)}")
        rect = self._dlib.rectangle(left, top, right, bottom)
        shape = self._shape_predictor(image, rect)
        return np.asarray(self._descriptor.compute_face_descriptor(image, shape), dtype=np.float32)

    def embed(self, image_rgb: np.ndarray) -> np.ndarray | None:
        """The descriptor of the largest face found, or None when no face is found.

        Args:
            image_rgb: (H, W, 3) uint8 RGB, any size.

        Returns:
            (128,) float32, or None. Not unit length: norms measured 1.39-1.56 on the shared
            photos, values within about [-0.5, 0.5].
        """
        image = _check_image(image_rgb, "IdentityEmbedder.embed")
        box = self.detect(image)
        return None if box is None else self._describe(image, box)

    def embed_aligned_crop(
        self, image_rgb: np.ndarray, box: Sequence[int] | None = None
    ) -> np.ndarray:
        """The descriptor of the face in a known box, skipping detection (never None).

        Use it where detection may fail or is wasted: a generated face crop, a crop whose face
        position is known. The box should look like dlib's detector's (cheek to cheek, brows to
        chin): `face_box_from_eye_centres` makes one. The default, the whole image, suits a crop
        about 1.2-1.6x the face width. On canonical 256-px crops of the shared portraits, with
        `face_box_from_eye_centres(canonical_eye_centres(256))`, descriptors were 0.04-0.08 from
        those of the full image with detection (whole-crop box: 0.02-0.19).

        Args:
            image_rgb: (H, W, 3) uint8 RGB.
            box: (left, top, right, bottom) pixels, or None for the whole image.

        Returns:
            (128,) float32.
        """
        image = _check_image(image_rgb, "IdentityEmbedder.embed_aligned_crop")
        if box is None:
            box = (0, 0, image.shape[1] - 1, image.shape[0] - 1)
        if len(box) != 4:
            raise InputError(f"IdentityEmbedder: box must be (left, top, right, bottom), got {box}")
        return self._describe(image, box)

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> float:
        """Euclidean distance of two (128,) descriptors; < 0.6 (`SAME_PERSON_THRESHOLD`): same."""
        return identity_distance(a, b)
