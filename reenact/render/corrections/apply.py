"""Corrections into pixels: the one place that applies `Layer`s and `MapOverride`s.

Three consumers take the same boxes (`reenact.render.corrections.base`):

- the numpy warp: `bend` overrides its backward map, `paint` blends layers over its render;
- the CUDA warp: `WarpExtras` writes them into the full-crop planes the device warp reads
  (`reenact.render.warp_torch.TorchWarp`: `eyes` (3,S,S) = alpha and alpha x shift for the map,
  `overlay` (4,S,S) = straight-alpha RGBA over the warped image);
- a generator on the warp: `patches` + `paste` (numpy backends) and `keep_alpha` (the CUDA
  renderer's one alpha plane) keep the warp's own pixels over the network's output under the
  layers of the corrections that declare `kept` and under the eye keep's (`EyeKeep`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from reenact.render.corrections.base import Box, Correction, Layer, MapOverride


class CorrectedWarp(Protocol):
    """What the CUDA planes read of a warp: its size, its target's version and its corrections."""

    size: int
    target_version: int
    corrections: Sequence[Correction]


def paint(image: np.ndarray, layers: list[Layer]) -> None:
    """Blend each layer over `image` (S,S,3) uint8 in place, in order: image + alpha (rgb -
    image); a layer of the warp's own pixels (rgb None) changes nothing."""
    for (x0, y0, x1, y1), rgb, alpha in layers:
        if rgb is None:  # the warp's own pixels there: nothing to paint
            continue
        roi = image[y0:y1, x0:x1]
        roi[...] = cv2.blendLinear(rgb, roi, alpha, 1.0 - alpha)


def bend(remap: np.ndarray, identity: np.ndarray, overrides: list[MapOverride]) -> None:
    """Apply map overrides to the (S,S,2) float32 backward map in place, in order; identity:
    (S,S,2) float32 each pixel's own x, y."""
    for (x0, y0, x1, y1), alpha, shift in overrides:
        source = identity[y0:y1, x0:x1] - shift
        box = remap[y0:y1, x0:x1]
        box += alpha[..., None] * (source - box)


@dataclass(frozen=True)
class Patch:
    """A box of the warp's render kept over a generator's output: box (x0,y0,x1,y1), alpha
    (h,w,1) float32 in [0,1], the warp's pixels there (h,w,3) float32 (a copy: the warp's
    buffer may be reused before the paste)."""

    box: Box
    alpha: np.ndarray
    warped: np.ndarray


def patches(layers: list[Layer], warped: np.ndarray) -> list[Patch]:
    """The layers' boxes and alphas with `warped` (S,S,3) uint8's pixels there."""
    return [
        Patch((x0, y0, x1, y1), alpha[..., None], warped[y0:y1, x0:x1].astype(np.float32))
        for (x0, y0, x1, y1), _rgb, alpha in layers
    ]


def paste(output: np.ndarray, kept: list[Patch]) -> np.ndarray:
    """output: (S,S,3) uint8, changed in place (and returned): each patch over it, in order."""
    for patch in kept:
        x0, y0, x1, y1 = patch.box
        region = output[y0:y1, x0:x1]
        # region + alpha (warped - region) + 0.5, each step in place in one float32 buffer
        mixed = np.subtract(patch.warped, region)
        mixed *= patch.alpha
        mixed += region
        mixed += 0.5
        np.copyto(region, mixed, casting="unsafe")
    return output


def keep_alpha(out: np.ndarray, eyes: list[Layer], kept: list[Layer]) -> np.ndarray:
    """The paste-over as one (S,S) alpha plane written into `out` (float16 or float32), 0
    elsewhere: the CUDA renderer blends on the device from its own warp. The eye keep's boxes
    are written in order, each over the last; the kept layers' alphas then keep the larger
    where they meet them."""
    out[...] = 0
    for (x0, y0, x1, y1), _rgb, alpha in eyes:
        out[y0:y1, x0:x1] = alpha
    for (x0, y0, x1, y1), _rgb, alpha in kept:
        region = out[y0:y1, x0:x1]
        np.maximum(region, alpha, out=region)
    return out


class WarpExtras:
    """The CPU's share of a device warp: every correction's boxes as the device's planes.

    cpu_warp: a `WarpRenderer` whose corrections are used. With xy = `cpu_warp.follow(fused)`,
    `fill(xy)` writes the map planes (3,S,S) and the overlay planes (4,S,S) into `planes`
    (7,S,S), clearing what the last frame wrote, and returns True when the planes changed (and
    must be uploaded); the layers a generator keeps (`Correction.kept`) stay in `kept_layers`.
    The same xy for the same target as the last call changes nothing and costs a comparison.
    """

    def __init__(self, cpu_warp: CorrectedWarp, planes: np.ndarray) -> None:
        s = cpu_warp.size
        if planes.shape != (7, s, s):
            raise ValueError(f"WarpExtras: planes must be (7,{s},{s}), got {planes.shape}")
        self.warp = cpu_warp
        self.planes = planes
        self.planes.fill(0)
        self._written: list[Box] = []
        self._last: tuple | None = None  # (target version, xy) of the last fill
        self.kept_layers: list[Layer] = []

    def fill(self, xy: np.ndarray) -> bool:
        w, planes = self.warp, self.planes
        last = self._last
        if last is not None and last[0] == w.target_version and np.array_equal(last[1], xy):
            return False
        self._last = (w.target_version, np.array(xy, copy=True))
        changed = bool(self._written)
        for x0, y0, x1, y1 in self._written:
            planes[:, y0:y1, x0:x1] = 0
        self._written = []
        layers: list[Layer] = []
        self.kept_layers = []
        for correction in w.corrections:  # in the warp's order: each map and layer over the last
            if correction.reshapes:
                for override in correction.geometry(xy):
                    self._map_override(override)
            if correction.paints:
                found = correction.overlay(xy)
                layers += found
                if correction.kept:
                    self.kept_layers += found
        drawn: list[Box] = []
        for box, rgb, alpha in layers:
            if rgb is None:  # the warp's own pixels there: nothing to overlay
                continue
            x0, y0, x1, y1 = box
            fresh = not any(a < x1 and x0 < c and b < y1 and y0 < d for a, b, c, d in drawn)
            _over(planes[3:, y0:y1, x0:x1], rgb, alpha, fresh)
            drawn.append(box)
        self._written += drawn
        return changed or bool(self._written)

    def _map_override(self, override: MapOverride) -> None:
        """One override into the map planes (the map there becomes map + alpha (identity -
        shift - map), which the device applies as map + alpha (identity - map) - alpha shift)."""
        (x0, y0, x1, y1), alpha, shift = override
        self.planes[0, y0:y1, x0:x1] = alpha
        self.planes[1, y0:y1, x0:x1] = alpha * shift[..., 0]
        self.planes[2, y0:y1, x0:x1] = alpha * shift[..., 1]
        self._written.append((x0, y0, x1, y1))


def _over(planes: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, fresh: bool) -> None:
    """Composite an RGB layer (h,w,3) uint8 with alpha (h,w) float32 over the (4,h,w) float32
    RGBA planes (straight alpha), in place. fresh: the planes there are all 0 (no layer drawn
    there yet this frame), so the terms of what is below vanish exactly."""
    colour = rgb.transpose(2, 0, 1).astype(np.float32)
    if fresh:
        planes[:3] = colour * alpha / np.maximum(alpha, 1e-6)
        planes[3] = alpha
        return
    below = planes[3]
    total = alpha + below * (1.0 - alpha)
    mixed = colour * alpha + planes[:3] * (below * (1.0 - alpha))
    planes[:3] = mixed / np.maximum(total, 1e-6)
    planes[3] = total
