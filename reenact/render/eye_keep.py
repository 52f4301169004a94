"""The warp's eyes and open mouth kept in the generator's output, as the warp draws them.

The warp-guided generator blends its own colours with the warp (`M * warped + (1 - M) * C`); in
the eyes its colours soften the iris and the lid line the warp's painters put exactly where the
actor looks and how far the lids close, and in an opened mouth they wash the warp's cavity and
teeth into a translucent grey-blue smear. `eye_patches` takes, per frame, a feathered patch
around each eye (the eye contour grown to the lids, from the fused landmarks) of the warp's
render, `mouth_patches` the cavity the warp's mouth filler painted (its own feathered alpha,
inside the inner lips: nothing while the mouth is no more open than the target's), and
`paste_patches` pastes them over the network's output there:

    patches = eye_patches(fused, warped)     # on the thread that staged the frame
    paste_patches(output, patches)              # after the network, on any thread

On a torch device (`generator_cuda`) the same alphas go up as one plane (`eye_alpha`, then
`add_mouth_alpha`) and the blend runs there, after the network.

Cost: two patches of about (1.6 eye widths)^2 pixels, ~0.1-0.2 ms at 256; the mouth's is the
filler's own box and alpha, already computed by the warp.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from reenact.landmarks.regions import REGIONS

GROW = 0.30  # x eye width: the contour grows by this (the lids and the lash line around it)
FEATHER = 0.15  # x eye width: Gaussian sigma of the patch's edge
EYES = ("left_eye", "right_eye")


@dataclass(frozen=True)
class WarpPatch:
    """One eye or the open mouth: the box (y0, y1, x0, x1) in crop pixels, its alpha (h,w,1)
    float32 in [0,1] and the warp's pixels there (h,w,3) float32 (copied: the warp's buffer is
    reused)."""

    box: tuple[int, int, int, int]
    alpha: np.ndarray
    warped: np.ndarray


def _eye_alphas(fused: np.ndarray, size: int):
    """Per eye of J_gen (478,2|3) crop pixels: its box (y0, y1, x0, x1) in an (S,S) crop and the
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
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
        alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), FEATHER * width)
        yield (int(y0), int(y1), int(x0), int(x1)), alpha


def eye_patches(fused: np.ndarray, warped: np.ndarray) -> list[WarpPatch]:
    """fused: (478,2|3) J_gen in crop pixels; warped: (S,S,3) uint8, the warp's render of it."""
    return [
        WarpPatch(
            box, alpha[..., None], warped[box[0] : box[1], box[2] : box[3]].astype(np.float32)
        )
        for box, alpha in _eye_alphas(fused, warped.shape[0])
    ]


def mouth_patches(layers: list, warped: np.ndarray) -> list[WarpPatch]:
    """layers: the warp's mouth filler layers of this render (`WarpRenderer.mouth_layers`: box
    (x0,y0,x1,y1), cavity, alpha (h,w) float32); warped: (S,S,3) uint8, that render."""
    return [
        WarpPatch((y0, y1, x0, x1), alpha[..., None], warped[y0:y1, x0:x1].astype(np.float32))
        for (x0, y0, x1, y1), _cavity, alpha in layers
    ]


def add_mouth_alpha(layers: list, out: np.ndarray) -> np.ndarray:
    """The mouth filler's alphas (see `mouth_patches`) added into an alpha plane `out` (S,S),
    keeping the larger where they meet: the device renderer's form."""
    for (x0, y0, x1, y1), _cavity, alpha in layers:
        region = out[y0:y1, x0:x1]
        np.maximum(region, alpha, out=region)
    return out


def eye_alpha(fused: np.ndarray, size: int, out: np.ndarray) -> np.ndarray:
    """The patches' alphas as one (S,S) plane written into `out` (float16 or float32), 0 away
    from the eyes: the device renderer's form (it blends on the device, from its own warp)."""
    out[...] = 0
    for (y0, y1, x0, x1), alpha in _eye_alphas(fused, size):
        out[y0:y1, x0:x1] = alpha
    return out


def paste_patches(output: np.ndarray, patches: list[WarpPatch]) -> np.ndarray:
    """output: (S,S,3) uint8, changed in place (and returned): the warp's patches over it."""
    for patch in patches:
        y0, y1, x0, x1 = patch.box
        region = output[y0:y1, x0:x1]
        mixed = region + patch.alpha * (patch.warped - region)
        np.copyto(region, mixed + 0.5, casting="unsafe")
    return output
