"""The learned eyes: one small network draws each eye's lids, lashes and iris over the warp
(issue 88).

`renderer.corrections: learned` puts `LearnedEyes` where the painted irises and lids
(`IrisPainter`, `LidPainter`) run, after the eye keeper. Per frame and per eye it cuts a
fixed-size box centred on the eye's corners (BOX_HW at a 256 crop: the aligned crop fixes the
face's scale) and feeds `reenact.nn.local_gen.LocalGenerator` 7 channels: the target's own eye
at rest (3, cut once around the target's eye), the warp's drawing of the box (3) and the
driving eye as one image (1: 0 skin, 0.5 the eye's opening, 1 the iris disc inside it), so a
blink and a gaze are drawn from the landmarks. One network serves both eyes: the image-left eye
(the face's right, 33 ... 133) is flipped left-right to look like the other, and its drawing is
flipped back. Its colour and attention mask come back as one feathered `Layer` per eye.

The network runs on ONNX Runtime (`reenact.render.local_net`). It reads the warped image, which
`overlay(xy)` does not receive (the CUDA warp): there the painted irises and lids draw instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from reenact.landmarks.regions import REGIONS
from reenact.render.corrections.base import Box, Correction, Layer
from reenact.render.irises import IrisPainter
from reenact.render.lids import LidPainter
from reenact.render.local_net import (
    LocalNet,
    drawn_layer,
    grey_picture,
    load_local_model,
    network_input,
)

if TYPE_CHECKING:
    from reenact.nn.local_gen import LocalGenerator

BOX_HW = (48, 64)  # the network's box per eye, crop pixels at 256 (x size/256 at other sizes)
WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "local_eyes.safetensors"
EYES = (REGIONS["right_eye"], REGIONS["left_eye"])  # 16-point rings, corners at 0 and 8
IRISES = (REGIONS["right_iris"], REGIONS["left_iris"])  # centre, then 4 ring points
FLIPPED = (True, False)  # the image-left eye is mirrored to look like the image-right one
FEATHER = 5  # px at 256: the layer fades into the warp over this band at the box's edge


def eye_box(xy: np.ndarray, eye: int, size: int) -> Box:
    """The (x0, y0, x1, y1) box of BOX_HW x size/256 centred on eye `eye`'s (0: image-left,
    1: image-right) two corners in (478,2) crop-pixel landmarks, moved inside the crop."""
    unit = size / 256.0
    h, w = round(BOX_HW[0] * unit), round(BOX_HW[1] * unit)
    ring = EYES[eye]
    cx, cy = 0.5 * (xy[ring[0], :2] + xy[ring[8], :2])
    x0 = int(np.clip(round(float(cx) - w / 2), 0, size - w))
    y0 = int(np.clip(round(float(cy) - h / 2), 0, size - h))
    return x0, y0, x0 + w, y0 + h


def cut(image: np.ndarray, box: Box, flip: bool) -> np.ndarray:
    """image's box as the network's (BOX_HW) uint8 RGB, mirrored left-right when `flip`."""
    x0, y0, x1, y1 = box
    region = image[y0:y1, x0:x1]
    if region.shape[:2] != BOX_HW:
        region = cv2.resize(region, BOX_HW[::-1], interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(region[:, ::-1] if flip else region)


def contours(xy: np.ndarray, eye: int, box: Box) -> np.ndarray:
    """(BOX_HW) float32 drawing of eye `eye` in the box, mirrored as `cut` mirrors it: 0 skin,
    0.5 the eye's opening, 1 the iris disc (from the iris landmarks) where the opening shows it,
    anti-aliased."""
    x0, y0, x1, y1 = box
    scale = np.array([BOX_HW[1] / (x1 - x0), BOX_HW[0] / (y1 - y0)], np.float32)
    # 4 sub-pixel bits (cv2's shift): the contours move smoothly with the landmarks
    pts = (xy[:, :2] - np.array([x0, y0], np.float32)) * scale
    opening = np.zeros(BOX_HW, np.uint8)
    fixed = (pts[EYES[eye]] * 16).round().astype(np.int32)
    cv2.fillPoly(opening, [fixed], (255,), cv2.LINE_AA, shift=4)
    iris = np.zeros(BOX_HW, np.uint8)
    ring = IRISES[eye]
    centre = pts[ring[0]]
    radius = float(np.linalg.norm(pts[ring[1:]] - centre, axis=1).mean())
    cv2.circle(
        iris,
        tuple((centre * 16).round().astype(int)),
        round(radius * 16),
        (255,),
        -1,
        cv2.LINE_AA,
        shift=4,
    )
    inside = opening.astype(np.float32) / 255.0
    img = 0.5 * inside * (1.0 + iris.astype(np.float32) / 255.0)
    return np.ascontiguousarray(img[:, ::-1] if FLIPPED[eye] else img)


def load_eye_model(path: str | Path) -> LocalGenerator:
    """The eye network as a torch module (`load_local_model`)."""
    return load_local_model(path, "learned-eye")


class LearnedEyes(Correction):
    """Both eyes drawn by one `LocalGenerator` over the warp (module doc); the painted irises and
    lids where the warped image is not given. size: crop side; weights: the safetensors file
    (None: the shipped one)."""

    name = "learned_eyes"
    paints = True
    reads_image = True

    def __init__(self, *, size: int, weights: str | Path | None = None) -> None:
        self.size = int(size)
        self.net = LocalNet(
            WEIGHTS if weights is None else weights,
            load=load_eye_model,
            channels=7,
            hw=BOX_HW,
        )
        self.painted = (IrisPainter(size=size), LidPainter(size=size))
        self._rest: list[np.ndarray] = []
        self._grey = False

    def prepare(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        xy = np.asarray(target_landmarks, np.float32)[:, :2]
        self._rest = [cut(target_crop, eye_box(xy, eye, self.size), FLIPPED[eye]) for eye in (0, 1)]
        self._grey = grey_picture(np.concatenate(self._rest))
        for painter in self.painted:
            painter.prepare(target_crop, target_landmarks)

    def overlay(self, xy: np.ndarray) -> list[Layer]:
        return [layer for painter in self.painted for layer in painter.overlay(xy)]

    def overlay_on(self, xy: np.ndarray, image: np.ndarray) -> list[Layer]:
        """The network's two eyes for this frame's (478,2) landmarks over `image` (S,S,3)
        uint8, the warp so far."""
        if not self._rest:
            return []
        return [self._eye_layer(xy, image, eye) for eye in (0, 1)]

    def _eye_layer(self, xy: np.ndarray, image: np.ndarray, eye: int) -> Layer:
        box = eye_box(xy, eye, self.size)
        flip = FLIPPED[eye]
        x = network_input(self._rest[eye], cut(image, box, flip), contours(xy, eye, box))
        rgb, mask = self.net.run(x)
        if flip:
            rgb, mask = rgb[:, :, ::-1], mask[:, ::-1]
        band = FEATHER * self.size / 256.0
        return drawn_layer(box, rgb, mask, grey=self._grey, band=band)
