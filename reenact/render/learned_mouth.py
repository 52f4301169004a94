"""The learned mouth: a small network draws the mouth's inside and lips over the warp (issue 88).

`renderer.corrections: learned` puts `LearnedMouth` where the painted `MouthFiller` runs. Per
frame it cuts a fixed-size box around the mouth the warp follows (BOX_HW at a 256 crop: the
aligned crop fixes the face's scale, so a box of the crop's scale holds any mouth), and feeds
`reenact.nn.local_gen.LocalGenerator` the target's own mouth at rest (cut once, around the
target's mouth), the warp's drawing of the box and the frame's lip contours; its colour and
attention mask come back as one feathered `Layer`, taken in proportion to how far the lips
changed shape from the target's own (`reenact.render.local_net.change_weight`): at the picture's
own lips the warp draws the picture itself, where the network would redraw the box softer.

The network runs on ONNX Runtime (`reenact.render.local_net`: the CPU runtime has no torch).
The network reads the warped image, which `overlay(xy)` does not receive: the warp hands it to
corrections that declare `reads_image` through `overlay_on(xy, image)`. Where no image comes
(the CUDA warp's planes are filled before the device warps), the painted mouth draws instead.
"""

from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING

import cv2
import numpy as np

from reenact.landmarks.head_pose import RigidReference
from reenact.landmarks.regions import REGIONS
from reenact.render.corrections.base import Box, Correction, Layer
from reenact.render.local_net import (
    LocalNet,
    change_weight,
    cut,
    drawn_layer,
    grey_picture,
    load_local_model,
    network_input,
)
from reenact.render.mouth import MouthFiller

if TYPE_CHECKING:
    from reenact.nn.local_gen import LocalGenerator

BOX_HW = (64, 96)  # the network's box, crop pixels at 256 (x size/256 at other sizes)
WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "local_mouth.safetensors"
_CENTRE_ROWS = (0, 17, 13, 14)  # upper / lower lip, outer and inner midpoints
_CORNERS = (61, 291)
# the shape the network redraws: the lips' two rings
_LIPS = np.concatenate([REGIONS["lips_outer"], REGIONS["lips_inner"]])
FEATHER = 6  # px at 256: the layer fades into the warp over this band at the box's edge
# px of the network's box the layer may reach beyond the outer lips, fading out (0: the whole
# box, as trained); 6 keeps the skin and beard around the lips as the warp drew them (sharper,
# lower mouth SSIM: docs/experiments/2026-11-28-learned-mouth.md)
REACH = 0.0
# what draws an opening beyond the target's: "painted", the painter's cavity and teeth
# (`MouthFiller.cavity`) over the network's lips (the network alone draws the closed lips);
# "learned", the network's own inside, which it draws pale and soft
INSIDES = ("painted", "learned")


def mouth_box(xy: np.ndarray, size: int) -> Box:
    """The (x0, y0, x1, y1) box of BOX_HW x size/256 around the mouth of (478,2) crop-pixel
    landmarks, moved inside the crop."""
    unit = size / 256.0
    h, w = round(BOX_HW[0] * unit), round(BOX_HW[1] * unit)
    cx = float(xy[list(_CORNERS), 0].mean())
    cy = float(xy[list(_CENTRE_ROWS), 1].mean())
    x0 = int(np.clip(round(cx - w / 2), 0, size - w))
    y0 = int(np.clip(round(cy - h / 2), 0, size - h))
    return x0, y0, x0 + w, y0 + h


def contours(xy: np.ndarray, box: Box) -> np.ndarray:
    """(BOX_HW) float32 drawing of the lips in the box: 0 skin, 0.5 the lips (outer ring), 1 the
    mouth's opening (inner ring), anti-aliased."""
    x0, y0, x1, y1 = box
    scale = np.array([BOX_HW[1] / (x1 - x0), BOX_HW[0] / (y1 - y0)], np.float32)
    # 4 sub-pixel bits (cv2's shift): the contours move smoothly with the landmarks
    pts = ((xy - np.array([x0, y0], np.float32)) * scale * 16).round().astype(np.int32)
    img = np.zeros(BOX_HW, np.uint8)
    cv2.fillPoly(img, [pts[REGIONS["lips_outer"]]], (128,), cv2.LINE_AA, shift=4)
    cv2.fillPoly(img, [pts[REGIONS["lips_inner"]]], (255,), cv2.LINE_AA, shift=4)
    return img.astype(np.float32) / 255.0


def lips_reach(lips: np.ndarray, reach: float) -> np.ndarray:
    """(h,w) float32 in [0,1]: 1 on the lips and the opening of a `contours` image, fading to 0
    `reach` pixels beyond them (all 1 when reach <= 0)."""
    if reach <= 0:
        return np.ones_like(lips)
    k = 2 * round(reach / 2) + 1
    grown = cv2.dilate((lips > 0.1).astype(np.float32), np.ones((k, k), np.uint8))
    return cv2.GaussianBlur(grown, (0, 0), reach / 2)


def load_mouth_model(path: str | Path) -> LocalGenerator:
    """The mouth network as a torch module (`load_local_model`)."""
    return load_local_model(path, "learned-mouth")


class LearnedMouth(Correction):
    """The mouth drawn by `LocalGenerator` over the warp (module doc); the painted mouth where
    the warped image is not given. size: crop side; weights: the safetensors file (None: the
    shipped one); reach: px of the box the drawing reaches beyond the lips (0: the whole box);
    inside: what draws an opening beyond the target's (`INSIDES`); quantize: `renderer.quantize`
    for its network (`LocalNet`)."""

    name = "mouth"
    paints = True
    kept = True  # a generator on the warp keeps the drawn mouth, as it keeps the painted one
    reads_image = True

    def __init__(
        self,
        *,
        size: int,
        weights: str | Path | None = None,
        reach: float = REACH,
        inside: str = "painted",
        quantize: str = "auto",
    ) -> None:
        if inside not in INSIDES:
            raise ValueError(f"learned mouth: inside {inside!r} is not one of {INSIDES}")
        self.size = int(size)
        self.reach = float(reach)
        self.inside = inside
        self.net = LocalNet(
            WEIGHTS if weights is None else weights,
            load=load_mouth_model,
            channels=7,
            hw=BOX_HW,
            quantize=quantize,
        )
        self.painted = MouthFiller(size=size)
        self._rest: np.ndarray | None = None
        self._lips: RigidReference | None = None  # the target's own lips
        self._grey = False

    def prepare(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        xy = np.asarray(target_landmarks, np.float32)[:, :2]
        self._rest = cut(target_crop, mouth_box(xy, self.size), BOX_HW)
        self._lips = RigidReference(xy, _LIPS)
        self._grey = grey_picture(self._rest)
        self.painted.prepare(target_crop, target_landmarks)

    def overlay(self, xy: np.ndarray) -> list[Layer]:
        return self.painted.overlay(xy)

    def overlay_on(self, xy: np.ndarray, image: np.ndarray) -> list[Layer]:
        """The network's mouth for this frame's (478,2) landmarks over `image` (S,S,3) uint8,
        the warp so far."""
        if self._rest is None or self._lips is None:
            return []
        layers = []
        share = change_weight(xy, self._lips)
        if share > 0:  # the lips as the target's own: the warp draws the picture itself
            box = mouth_box(xy, self.size)
            lips = contours(xy, box)
            x = network_input(self._rest, cut(image, box, BOX_HW), lips)
            rgb, mask = self.net.run(x)
            alpha = mask * (share * lips_reach(lips, self.reach))
            band = FEATHER * self.size / 256.0
            layers.append(drawn_layer(box, rgb, alpha, grey=self._grey, band=band))
        if self.inside == "painted":
            layers += self.painted.cavity(xy)
        return layers
