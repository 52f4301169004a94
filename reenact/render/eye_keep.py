"""The warp's eyes kept in a generator's output, as the warp draws them: the eye keep.

The warp-guided generator blends its own colours with the warp (`M * warped + (1 - M) * C`); in
the eyes its colours soften the iris and the lid line the warp's corrections put exactly where
the actor looks and how far the lids close, and in an opened mouth they wash the warp's cavity
and teeth into a translucent grey-blue smear. `EyeKeep` is a correction whose layers are the
warp's own render (`Layer.rgb` None): per frame, a feathered box around each eye (the eye
contour grown to the lids, from the fused landmarks). A generator pastes the warp's pixels over
its output under these and under the layers of the corrections that declare `kept` (the mouth
filler's cavity), through `reenact.render.corrections.apply`:

    kept = patches(eye_keep.overlay(fused) + warp.kept_layers, warped)  # before the network
    paste(output, kept)                                      # after the network, any thread

On a torch device (`generator_cuda`) the same alphas go up as one plane (`keep_alpha`) and the
blend runs there, after the network.

Cost: two patches of about (1.6 eye widths)^2 pixels, ~0.1-0.2 ms at 256; the mouth's is the
filler's own box and alpha, already computed by the warp.
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.landmarks.regions import REGIONS
from reenact.render.corrections.base import Correction, Layer

GROW = 0.30  # x eye width: the contour grows by this (the lids and the lash line around it)
FEATHER = 0.15  # x eye width: Gaussian sigma of the patch's edge
EYES = ("left_eye", "right_eye")


def _eye_alphas(fused: np.ndarray, size: int):
    """Per eye of J_gen (478,2|3) crop pixels: its box (x0, y0, x1, y1) in an (S,S) crop and the
    feathered alpha (h,w) float32 there (the eye contour grown by GROW, blurred by FEATHER)."""
    xy = np.asarray(fused, np.float32)[:, :2]
    for eye in EYES:
        contour = xy[REGIONS[eye]]
        width = float(np.linalg.norm(contour[0] - contour[8]))  # corner to corner
        if not np.isfinite(width) or width < 2.0:
            continue
        margin = GROW * width + 3.0 * FEATHER * width
        x0, y0 = np.floor(contour.min(axis=0) - margin).astype(int)
        x1, y1 = np.ceil(contour.max(axis=0) + margin).astype(int)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, size), min(y1, size)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        hull = cv2.convexHull(np.round((contour - (x0, y0)) * 16).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 255, lineType=cv2.LINE_AA, shift=4)
        grow = max(1, int(round(GROW * width)))
        # dilated only around the eye: a max over the box's zeros beyond it is 0 there anyway
        ex, ey, ew, eh = cv2.boundingRect(mask)
        rows = slice(max(ey - grow, 0), ey + eh + grow)
        around = (rows, slice(max(ex - grow, 0), ex + ew + grow))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)
        mask[around] = cv2.dilate(mask[around], kernel)
        alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), FEATHER * width)
        yield (int(x0), int(y0), int(x1), int(y1)), alpha


class EyeKeep(Correction):
    """The eyes a generator keeps from the warp's render (module doc). size: crop side."""

    name = "eye_keep"
    paints = True
    kept = True

    def __init__(self, *, size: int) -> None:
        self.size = int(size)

    def overlay(self, xy: np.ndarray) -> list[Layer]:
        """Per eye of (478,2|3) crop pixels, a `Layer` of the warp's own pixels (rgb None) with
        the feathered alpha (h,w) float32."""
        return [Layer(box, None, alpha) for box, alpha in _eye_alphas(xy, self.size)]
