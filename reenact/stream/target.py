"""The target: its frame, its face's alignment, aligned crop and neutral landmarks, ready to drive."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from reenact.config import Config
from reenact.errors import InputError
from reenact.landmarks.align import Alignment, compute_alignment
from reenact.landmarks.tracker import detect_target_face
from reenact.stream.composite import Compositor

BUILTIN_TARGET = "astronaut"


@dataclass
class PreparedTarget:
    """A target face ready for rendering.

    frame: (H, W, 3) uint8 RGB, the full target picture (even sides).
    crop: (S, S, 3) uint8, the aligned face crop; landmarks_crop: (478, 3) in crop pixels.
    """

    name: str
    frame: np.ndarray
    alignment: Alignment
    crop: np.ndarray
    landmarks_crop: np.ndarray
    compositor: Compositor


def builtin_target_image() -> np.ndarray:
    """scikit-image's public-domain astronaut portrait (Eileen Collins), (512, 512, 3) uint8."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def load_target_image(path: str, config: Config) -> tuple[str, np.ndarray]:
    """The target picture named by `path` ('' or 'astronaut' = built in), as RGB uint8."""
    if not path or path == BUILTIN_TARGET:
        return BUILTIN_TARGET, builtin_target_image()
    from reenact.imageio import load_image

    if not Path(path).exists():
        raise InputError(f"{path}: target image not found")
    suffix = Path(path).suffix.lower()
    if suffix in {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}:
        return Path(path).name, _video_frame(path, config.stream.target_frame)
    return Path(path).name, load_image(path, max_side=max(config.tracker.max_image_side, 4096))


def _video_frame(path: str, index: int) -> np.ndarray:
    import av

    try:
        with av.open(path) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i == index:
                    return frame.to_ndarray(format="rgb24")
    except (av.error.FFmpegError, IndexError) as exc:
        raise InputError(f"{path}: cannot read target video ({exc})") from None
    raise InputError(f"{path}: target video has no frame {index}")


def fit_frame(image: np.ndarray, max_side: int) -> np.ndarray:
    """Scale down so the longer side is at most `max_side`, then crop to even sides (H.264)."""
    h, w = image.shape[:2]
    if max(h, w) > max_side:
        s = max_side / max(h, w)
        image = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        h, w = image.shape[:2]
    return np.ascontiguousarray(image[: h - h % 2, : w - w % 2])


def prepare_target(path: str, config: Config) -> PreparedTarget:
    """Load, detect the face (one clear error if none), align and build its compositor."""
    name, image = load_target_image(path, config)
    frame = fit_frame(image, config.stream.max_output_side)
    landmarks = detect_target_face(frame, config.tracker, source_name=path or name)
    size = config.renderer.size
    alignment = compute_alignment(landmarks, size)
    crop = alignment.crop_image(frame)
    landmarks_crop = alignment.landmarks_to_crop(landmarks).astype(np.float32)
    compositor = Compositor(
        target_frame=frame, alignment=alignment, target_landmarks_crop=landmarks_crop
    )
    return PreparedTarget(name, frame, alignment, crop, landmarks_crop, compositor)


def list_targets(folder: str) -> list[str]:
    """Image files of a folder of avatars, sorted by name."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{folder}: targets folder not found")
    exts = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
    files = sorted(str(p) for p in root.iterdir() if p.suffix.lower() in exts)
    if not files:
        raise InputError(f"{folder}: no images in the targets folder")
    return files
