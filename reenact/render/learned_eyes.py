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
flipped back; both eyes run as one batch of 2. Its colour and attention mask come back as one
feathered `Layer` per eye, taken in proportion to how far that eye (its ring and iris) changed
shape from the target's own (`reenact.render.local_net.change_weight`; an eye in its own shape
is the picture's, and the network does not run for it), and the painted iris (`IrisPainter`,
cut to the driving iris disc and clipped by the driving lids, so a blink hides it) is drawn
over each (`GAZES`).

The network runs on ONNX Runtime (`reenact.render.local_net`). It reads the warped image, which
`overlay(xy)` does not receive (the CUDA warp): there the painted irises and lids draw instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from reenact.landmarks.head_pose import RigidReference
from reenact.landmarks.regions import REGIONS
from reenact.render.corrections.base import Box, Correction, Layer
from reenact.render.eyeball import IRIS_RIM
from reenact.render.irises import Disc, IrisPainter
from reenact.render.lids import LidPainter
from reenact.render.local_net import (
    LocalNet,
    change_weight,
    cut,
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
# each eye's shape the network redraws: its ring and its iris
SHAPES = tuple(np.concatenate([ring, iris]) for ring, iris in zip(EYES, IRISES))
FLIPPED = (True, False)  # the image-left eye is mirrored to look like the image-right one
FEATHER = 5  # px at 256: the layer fades into the warp over this band at the box's edge
# where the iris comes from (the network alone moves it less than the driving gaze): "disc"
# (the default), the painted iris (`IrisPainter`'s layer cut to the driving iris disc,
# `IrisPainter.iris_discs`) over the network's eye; "painted", the painted eyeball over the
# whole driving opening; "warp", the network's layer left out of the driving iris disc, so the
# warp's own eyeball shows; "learned", the network's own iris
# (docs/experiments/2026-11-28-learned-eyes.md)
GAZES = ("disc", "painted", "warp", "learned")


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


def contours(xy: np.ndarray, eye: int, box: Box) -> np.ndarray:
    """(BOX_HW) float32 drawing of eye `eye` in the box, mirrored as `cut` mirrors it (`FLIPPED`):
    0 skin, 0.5 the eye's opening, 1 the iris disc (from the iris landmarks) where the opening
    shows it, anti-aliased."""
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


def iris_shown(lines: np.ndarray) -> np.ndarray:
    """(h,w) float32 in [0,1]: where `contours`' drawing `lines` shows the iris (the disc inside
    the opening; 0 where a lid covers it)."""
    return np.clip(2.0 * lines - 1.0, 0.0, 1.0)


def driving_disc(xy: np.ndarray, eye: int, size: int) -> Disc:
    """Eye `eye`'s driving iris disc in (478,2) landmarks: the tracked iris centre and radius
    plus the painter's own rim (IRIS_RIM), crop pixels."""
    ring = IRISES[eye]
    radius = float(np.linalg.norm(xy[ring[1:]] - xy[ring[0]], axis=1).mean())
    return xy[ring[0]], radius + IRIS_RIM * size / 256.0


def load_eye_model(path: str | Path) -> LocalGenerator:
    """The eye network as a torch module (`load_local_model`)."""
    return load_local_model(path, "learned-eye")


class LearnedEyes(Correction):
    """Both eyes drawn by one `LocalGenerator` over the warp (module doc); the painted irises and
    lids where the warped image is not given. size: crop side; weights: the safetensors file
    (None: the shipped one); gaze: where the iris comes from (`GAZES`); quantize:
    `renderer.quantize` for its network (`LocalNet`)."""

    name = "learned_eyes"
    paints = True
    reads_image = True

    def __init__(
        self,
        *,
        size: int,
        weights: str | Path | None = None,
        gaze: str = "disc",
        quantize: str = "auto",
    ) -> None:
        if gaze not in GAZES:
            raise ValueError(f"learned eyes: gaze {gaze!r} is not one of {GAZES}")
        self.size = int(size)
        self.gaze = gaze
        self.net = LocalNet(
            WEIGHTS if weights is None else weights,
            load=load_eye_model,
            channels=7,
            hw=BOX_HW,
            quantize=quantize,
        )
        self.painted = (IrisPainter(size=size), LidPainter(size=size))
        self._rest: list[np.ndarray] = []
        self._shapes: list[RigidReference] = []  # the target's own SHAPES
        self._grey = False

    def prepare(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        xy = np.asarray(target_landmarks, np.float32)[:, :2]
        self._rest = [
            cut(target_crop, eye_box(xy, eye, self.size), BOX_HW, FLIPPED[eye]) for eye in (0, 1)
        ]
        self._shapes = [RigidReference(xy, shape) for shape in SHAPES]
        self._grey = grey_picture(np.concatenate(self._rest))
        for painter in self.painted:
            painter.prepare(target_crop, target_landmarks)

    def overlay(self, xy: np.ndarray) -> list[Layer]:
        return [layer for painter in self.painted for layer in painter.overlay(xy)]

    def overlay_on(self, xy: np.ndarray, image: np.ndarray) -> list[Layer]:
        """The network's two eyes for this frame's (478,2) landmarks over `image` (S,S,3)
        uint8, the warp so far, and the gaze's iris over them (`GAZES`)."""
        if not self._rest:
            return []
        shares = [change_weight(xy, self._shapes[eye]) for eye in (0, 1)]
        drawn = [eye for eye in (0, 1) if shares[eye] > 0]  # else the warp draws the picture
        boxes = {eye: eye_box(xy, eye, self.size) for eye in drawn}
        lines = {eye: contours(xy, eye, boxes[eye]) for eye in drawn}
        layers = []
        if drawn:
            x = np.stack(
                [
                    network_input(
                        self._rest[eye], cut(image, boxes[eye], BOX_HW, FLIPPED[eye]), lines[eye]
                    )
                    for eye in drawn
                ]
            )
            rgbs, masks = self.net.run_batch(x)  # one ONNX Runtime call for the eyes drawn
        band = FEATHER * self.size / 256.0
        for row, eye in enumerate(drawn):
            rgb, mask = rgbs[row], masks[row] * shares[eye]
            if self.gaze == "warp":
                mask = mask * (1.0 - iris_shown(lines[eye]))
            if FLIPPED[eye]:
                rgb, mask = rgb[:, :, ::-1], mask[:, ::-1]
            layers.append(drawn_layer(boxes[eye], rgb, mask, grey=self._grey, band=band))
        if self.gaze == "painted":
            layers += self.painted[0].overlay(xy)
        elif self.gaze == "disc":
            discs = (driving_disc(xy, 0, self.size), driving_disc(xy, 1, self.size))
            layers += self.painted[0].iris_discs(xy, discs)  # only the discs' rows are built
        return layers
