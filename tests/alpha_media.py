"""Test helpers for outputs with alpha: an RGBA cartoon target made from a real cartoon portrait,
RGBA decoding of an alpha video by PyAV, and checks of a matte against the face tracked in it."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from reenact.config import load_config
from reenact.landmarks.tracker import detect_target_face

CARTOON = "lp_s7.jpg"  # a 3-D cartoon face on a plain backdrop
PHOTO = "lp_s1.jpg"  # a photographed head and shoulders before a plain wall


def face_points(rgb: np.ndarray) -> np.ndarray:
    """(478, 2) the face's landmarks in `rgb` (H, W, 3) uint8, tracked for real."""
    return detect_target_face(
        np.ascontiguousarray(rgb), load_config(None, []).tracker, source_name="output"
    )[:, :2]


def on_face(alpha: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """`alpha` (H, W) at the nose tip, the eyes' inner corners and the chin's middle of the face
    tracked in `rgb`."""
    points = np.round(face_points(rgb)[[1, 133, 362, 17]]).astype(int)
    return alpha[points[:, 1], points[:, 0]]


def rgba_cartoon(portraits_dir: Path, folder: Path, side: int) -> tuple[Path, np.ndarray]:
    """The cartoon at `side` x `side`, cut to a soft ellipse about its face, the rest alpha 0 and
    black, saved as a PNG in `folder`: (its path, its alpha (side, side) uint8)."""
    bgr = cv2.resize(
        cv2.imread(str(portraits_dir / CARTOON)), (side, side), interpolation=cv2.INTER_AREA
    )
    face = face_points(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    centre = face.mean(0)
    axes = (face.max(0) - face.min(0)) * 0.75
    alpha = np.zeros((side, side), np.uint8)
    cv2.ellipse(
        alpha, (int(centre[0]), int(centre[1])), (int(axes[0]), int(axes[1])), 0, 0, 360, 255, -1
    )
    alpha = cv2.GaussianBlur(alpha, (7, 7), 0)
    bgra = np.dstack([bgr, alpha])
    bgra[alpha == 0, :3] = 0
    path = folder / "cartoon.png"
    cv2.imwrite(str(path), bgra)
    return path, alpha


def far_from(alpha: np.ndarray, reach: float) -> np.ndarray:
    """(H, W) bool: transparent in `alpha` and more than `reach` (a fraction of its side) from
    anything opaque: beyond where the head's motion takes the avatar."""
    distance = cv2.distanceTransform((alpha == 0).astype(np.uint8), cv2.DIST_L2, 5)
    return distance > alpha.shape[0] * reach


def decode_rgba(path: Path) -> tuple[str, list[np.ndarray]]:
    """(codec, frames as (H, W, 4) uint8 RGBA) by PyAV. VP9's alpha lives beside the colour
    (Matroska's BlockAdditional): FFmpeg's own vp9 decoder drops it, libvpx's keeps it."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        name = stream.codec_context.name
        if name == "vp9":
            decoder = av.CodecContext.create("libvpx-vp9", "r")
            # demux ends with an empty packet, which flushes the decoder
            frames = [f for packet in container.demux(stream) for f in decoder.decode(packet)]
        else:
            frames = list(container.decode(stream))
        return name, [f.to_ndarray(format="rgba") for f in frames]
