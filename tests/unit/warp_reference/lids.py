"""Closing eyelids for the warp renderer: paint lid skin where the lids cover the eyeball.

A warp cannot show the skin of an upper lid that the target's open eye keeps folded away; it can
only stretch the lash line and crease over the eye, which reads as a dark smear. Where the fused
lids cover part of the target's eye opening, `LidPainter.paint` draws instead:

- lid skin in the target's own colour (the skin around the eye, its thin dark lines left out), a little darker
  towards the lid margin;
- a soft lash line along the fused upper lid,

through a feathered mask (target eye opening minus fused eye opening), so an open eye is left
exactly as warped and a closed one shows smooth skin with a lash line.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from reenact.landmarks.regions import REGIONS

_EYES = (REGIONS["right_eye"], REGIONS["left_eye"])  # 16-point rings, corners at 0 and 8
_FOLDS = ((247, 30, 29, 27, 28, 56, 190), (467, 260, 259, 257, 258, 286, 414))  # above 1..7
LASH_WIDTH, LASH_SOFT = 2.0, 1.0  # a shut eye's lash line, px at 256 (was 0.9 / 0.5)
_SHIFT = 4


def _fill(mask: np.ndarray, poly: np.ndarray, origin: tuple[int, int]) -> None:
    pts = np.round((poly - origin) * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=_SHIFT)


def _band(rgb: np.ndarray, point: np.ndarray, direction, most: float) -> float:
    """How far (px) the eye's colours (lash line, lid line, white) reach from `point` along
    `direction` within `most` px, in 0.5 px steps: the end of the first run of samples more than
    20 % off the skin's colour (the median of the outer half of the samples); 0 if none."""
    steps = np.arange(0.0, most, 0.5, dtype=np.float32)
    size = rgb.shape[0]
    samples = []
    for d in steps:
        x = int(np.clip(np.round(point[0] + d * np.float32(direction[0])), 0, size - 1))
        y = int(np.clip(np.round(point[1] + d * np.float32(direction[1])), 0, size - 1))
        samples.append(rgb[y, x])
    samples = np.array(samples)
    skin = np.median(samples[len(steps) // 2 :], axis=0)
    off = np.linalg.norm(samples - skin, axis=1) > 0.2 * np.linalg.norm(skin)
    started = False
    for k, o in enumerate(off):
        if o:
            started = True
        elif started:
            return float(steps[k])
    return float(steps[-1]) if started else 0.0


class LidPainter:
    """Paints lid skin and a lash line where fused eyelids cover the target's eyeball.

    size: crop side; lengths scale with size / 256.
    """

    def __init__(self, *, size: int) -> None:
        self.size = int(size)
        self.unit = self.size / 256.0
        self.feather = 1.2 * self.unit
        self._target_xy: np.ndarray | None = None
        self._skin: list[tuple[np.ndarray, np.ndarray]] = []
        self._lash = np.zeros(3, np.float32)

    def set_target(self, target_crop: np.ndarray, target_xy: np.ndarray) -> None:
        """target_crop: (S,S,3) uint8; target_xy: (478,2) crop pixels of the neutral face."""
        t = np.asarray(target_xy, np.float32)[:, :2].copy()
        self._target_xy = t
        darks = []
        for ring in _EYES:
            mask = np.zeros(target_crop.shape[:2], np.uint8)
            _fill(mask, t[ring], (0, 0))
            inside = target_crop[mask > 127].reshape(-1, 3).astype(np.float32)
            if len(inside):
                lum = inside.mean(axis=1)
                darks.append(inside[lum <= np.percentile(lum, 10)].mean(axis=0))
        self._lash = (0.85 * np.mean(darks, axis=0)) if darks else np.full(3, 40.0, np.float32)
        rgb = cv2.blur(target_crop, (3, 3)).astype(np.float32)
        self._bands = [self._bands_of(rgb, t, eye) for eye in (0, 1)]
        self._skin = [self._skin_colours(target_crop, t, eye) for eye in (0, 1)]

    def _bands_of(self, rgb: np.ndarray, t: np.ndarray, eye: int):
        """(upper (7,), lower (7,), corners (2,), axis (2,)): how far the target's eye reaches
        past its upper lid, lower lid and corners (issue: shut eyes showed the open eye's
        outline around the painted lid)."""
        ring = _EYES[eye]
        axis = t[ring[8]] - t[ring[0]]
        axis = axis / max(float(np.hypot(axis[0], axis[1])), 1e-3)
        up = np.array(
            [_band(rgb, t[i], (0.0, -1.0), 4.0 * self.unit) for i in ring[1:8]], np.float32
        )
        low = np.array(
            [_band(rgb, t[i], (0.0, 1.0), 4.0 * self.unit) for i in ring[9:16]], np.float32
        )
        corners = [
            min(_band(rgb, t[ring[0]], -axis, 4.0 * self.unit), 3.0 * self.unit),
            min(_band(rgb, t[ring[8]], axis, 4.0 * self.unit), 3.0 * self.unit),
        ]
        return up, np.minimum(low, 3.0 * self.unit), corners, axis

    def _skin_colours(
        self, crop: np.ndarray, t: np.ndarray, eye: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Lid skin per crop column: (x (S,), RGB (S,3)) float32. The crop blurred (sigma 6 px)
        with weights that leave out both shut eyes' covered polygons (grown by a 5x5 disc) and
        thin dark lines (closing of the grey image by a 9 px disc more than 8 % above it), read
        on this eye's centre line, then blurred along the columns (sigma 2 px)."""
        eyes = np.zeros(crop.shape[:2], np.uint8)
        for other in (0, 1):
            _fill(eyes, self._covered_poly(None, other, shut=1.0), (0, 0))
        grow = 2 * int(2 * self.unit) + 1
        keep = cv2.dilate(eyes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow))) == 0
        grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        side = 2 * int(4 * self.unit) + 1
        closed = cv2.morphologyEx(
            grey, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        )
        weight = (keep & ((closed.astype(np.float32) - grey) <= 0.08 * closed)).astype(np.float32)
        num = cv2.GaussianBlur(crop.astype(np.float32) * weight[..., None], (0, 0), 6.0 * self.unit)
        den = cv2.GaussianBlur(weight, (0, 0), 6.0 * self.unit)
        fill = num / np.maximum(den, 1e-4)[..., None]
        ring = _EYES[eye]
        lower = ring[[0, 15, 14, 13, 12, 11, 10, 9, 8]]
        mid = (t[ring[:9]] + t[lower]) / 2.0
        mid = mid[np.argsort(mid[:, 0])]
        xs = np.arange(self.size)
        ys = np.clip(np.round(np.interp(xs, mid[:, 0], mid[:, 1])), 0, self.size - 1).astype(int)
        column = fill[ys, xs][:, None, :]
        smooth = cv2.GaussianBlur(column, (1, 0), sigmaX=1e-3, sigmaY=2.0 * self.unit)
        return xs.astype(np.float32), smooth[:, 0, :]

    def paint(self, image: np.ndarray, fused_xy: np.ndarray) -> None:
        """Paint into `image` (S,S,3) uint8 in place; fused_xy: (478,2) crop pixels."""
        for (x0, y0, x1, y1), layer, alpha in self.layers(fused_xy):
            roi = image[y0:y1, x0:x1]
            roi[...] = cv2.blendLinear(layer, roi, alpha, 1.0 - alpha)

    def layers(
        self, fused_xy: np.ndarray
    ) -> list[tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]]:
        """What `paint` blends in: per closing eye, (box (x0,y0,x1,y1), lid skin (h,w,3) uint8,
        alpha (h,w) float32)."""
        xy = np.asarray(fused_xy, np.float32)
        found = []
        for eye in (0, 1):
            layer = self._eye_layer(xy, eye)
            if layer is not None:
                found.append(layer)
        return found

    def _eye_layer(self, xy: np.ndarray, eye: int):
        closing = self._closing(xy, eye)
        if closing <= 0.0:
            return None
        ring = _EYES[eye]
        t_poly, f_poly = self._covered_poly(xy, eye), xy[ring]
        pad = int(math.ceil(3 * self.feather)) + 3
        both = np.concatenate([t_poly, f_poly])
        x0, y0 = np.maximum(np.floor(both.min(axis=0)).astype(int) - pad, 0)
        x1, y1 = np.minimum(np.ceil(both.max(axis=0)).astype(int) + pad + 1, self.size)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return None
        t_poly = self._covered_poly(xy, eye)
        covered = np.zeros((y1 - y0, x1 - x0), np.uint8)
        _fill(covered, t_poly, (x0, y0))
        opening = self._opening(f_poly, x0, y0, covered.shape)
        if opening is not None:
            covered = cv2.subtract(covered, opening)
        if int(covered.max()) < 32:
            return None
        alpha = cv2.GaussianBlur(covered, (0, 0), self.feather).astype(np.float32)
        alpha *= closing / 255.0
        layer = self._lid_layer(xy, eye, x0, y0, x1, y1)
        lash = 0.75 * self._lash_mask(xy, eye, x0, y0, x1, y1)
        layer += lash[..., None] * (self._lash - layer)
        alpha = np.maximum(alpha, lash * closing)
        return (int(x0), int(y0), int(x1), int(y1)), cv2.convertScaleAbs(layer), alpha

    def _covered_poly(
        self, xy: np.ndarray | None, eye: int, shut: float | None = None
    ) -> np.ndarray:
        """The target's eye ring, its upper lid raised past its own lash line; as the eye shuts,
        its lower lid and corners pushed out past their lines too (`shut` given: that far)."""
        arc = np.sin(np.linspace(0.125, 0.875, 7) * np.pi)
        up, low, corners, axis = self._bands[eye]
        reach = 2.0 * self.feather
        poly = self._target_xy[_EYES[eye]].copy()
        poly[1:8, 1] -= np.maximum(np.minimum(up + reach, 6.0 * self.unit), 2.5 * self.unit * arc)
        poly[9:16, 1] += 1.0 * self.unit * arc
        ring = _EYES[eye]
        if shut is None:
            gap_t = np.clip(
                self._target_xy[ring[15:8:-1], 1] - self._target_xy[ring[1:8], 1], 0, None
            )
            gap_f = np.clip(xy[ring[15:8:-1], 1] - xy[ring[1:8], 1], 0, None)
            closed = 1.0 - float(gap_f.mean()) / max(float(gap_t.mean()), 1e-3)
            shut = min(max((closed - 0.6) / 0.3, 0.0), 1.0)
        poly[9:16, 1] += shut * (low + self.feather * np.sqrt(arc)).astype(np.float32)
        poly[0] -= shut * (axis * (corners[0] + self.feather)).astype(np.float32)
        poly[8] += shut * (axis * (corners[1] + self.feather)).astype(np.float32)
        if xy is not None:  # moved with the eye's corners; up to a pixel below the fused fold
            poly += self._moved(xy, eye)  # (issue 15, stop 73)
            fold = xy[list(_FOLDS[eye]), 1] + 1.0 * self.unit
            poly[1:8, 1] += shut * np.minimum(fold - poly[1:8, 1], 0.0)
        return poly

    def _moved(self, xy: np.ndarray, eye: int) -> np.ndarray:
        corners = _EYES[eye][[0, 8]]
        return (xy[corners] - self._target_xy[corners]).mean(axis=0).astype(np.float32)

    def _opening(self, f_poly: np.ndarray, x0: int, y0: int, shape) -> np.ndarray | None:
        """The fused opening's mask, its lids pulled in by 0.7 px (x size/256) each so that a
        shut eye (a polygon of no area, which would still rasterise as a line) subtracts
        nothing; None when it is shut."""
        gap = f_poly[15:8:-1, 1] - f_poly[1:8, 1]
        inset = 0.7 * self.unit
        if float(gap.max()) <= 2.0 * inset:
            return None
        poly = f_poly.copy()
        pull = np.minimum(inset, 0.5 * np.clip(gap, 0.0, None))
        poly[1:8, 1] += pull
        poly[15:8:-1, 1] -= pull
        opening = np.zeros(shape, np.uint8)
        _fill(opening, poly, (x0, y0))
        return opening

    def _closing(self, xy: np.ndarray, eye: int) -> float:
        """0 for an eye at least 88 % as open as the target's, rising to 1 at 40 % closed."""
        ring = _EYES[eye]
        gap_t = np.clip(self._target_xy[ring[15:8:-1], 1] - self._target_xy[ring[1:8], 1], 0, None)
        gap_f = np.clip(xy[ring[15:8:-1], 1] - xy[ring[1:8], 1], 0, None)
        closed = 1.0 - float(gap_f.mean()) / max(float(gap_t.mean()), 1e-3)
        t = min(max((closed - 0.12) / 0.28, 0.0), 1.0)
        return t * t * (3.0 - 2.0 * t)

    def _lid_layer(self, xy, eye: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """Lid skin (h,w,3) float32 in the target's colours, shaded like a lid over an eyeball."""
        ring = _EYES[eye]
        upper_t = self._covered_poly(xy, eye)[:9]
        upper_t[[0, 8]] = self._target_xy[ring[[0, 8]]] + self._moved(xy, eye)
        upper_f = xy[ring[:9]]
        xs = np.arange(x0, x1, dtype=np.float32)
        top = np.interp(xs, *upper_t[np.argsort(upper_t[:, 0])].T)
        margin = np.interp(xs, *upper_f[np.argsort(upper_f[:, 0])].T)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        depth = np.clip((margin - ys) / np.maximum(margin - top, 1.0), 0.0, 1.0)
        shade = 0.86 + 0.12 * np.sin(0.5 * np.pi * depth)
        skin_x, skin_rgb = self._skin[eye]
        at = xs - round(float(self._moved(xy, eye)[0]))
        colour = np.stack([np.interp(at, skin_x, skin_rgb[:, c]) for c in range(3)], axis=-1)
        return shade[..., None] * colour[None, :, :]

    def _lash_mask(self, xy, eye: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """(h,w) float32 in [0,1]: a soft line along the fused upper lid, heavier at the outside."""
        upper = xy[_EYES[eye][:9]]
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        pts = np.round((upper - (x0, y0)) * (1 << _SHIFT)).astype(np.int32)
        thickness = max(1, int(round(LASH_WIDTH * self.unit)))
        cv2.polylines(mask, [pts], False, 230, thickness, lineType=cv2.LINE_AA, shift=_SHIFT)
        return cv2.GaussianBlur(mask, (0, 0), LASH_SOFT * self.unit).astype(np.float32) / 255.0
