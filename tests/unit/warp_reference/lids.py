"""Closing eyelids for the warp renderer: paint lid skin where the lids cover the eyeball.

A warp cannot show the skin of an upper lid that the target's open eye keeps folded away; it can
only stretch the lash line and crease over the eye, which reads as a dark smear. Where the fused
lids cover part of the target's eye opening, `LidPainter.paint` draws instead:

- lid skin in the target's own colour (sampled between the crease and the brow), a little darker
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
_LOWER_BROWS = (REGIONS["right_brow"][5:], REGIONS["left_brow"][5:])
_CHEEKS = (np.array([117, 118, 50, 101]), np.array([346, 347, 280, 330]))  # below each eye
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
    skin = np.median(samples[len(steps) // 2:], axis=0)
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
        self._skin = [self._skin_colours(target_crop, t, eye) for eye in (0, 1)]
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

    def _bands_of(self, rgb: np.ndarray, t: np.ndarray, eye: int):
        """(upper (7,), lower (7,), corners (2,), axis (2,)): how far the target's eye reaches
        past its upper lid, lower lid and corners (issue: shut eyes showed the open eye's
        outline around the painted lid)."""
        ring = _EYES[eye]
        axis = t[ring[8]] - t[ring[0]]
        axis = axis / max(float(np.hypot(axis[0], axis[1])), 1e-3)
        up = np.array([_band(rgb, t[i], (0.0, -1.0), 4.0 * self.unit) for i in ring[1:8]],
                      np.float32)
        low = np.array([_band(rgb, t[i], (0.0, 1.0), 4.0 * self.unit) for i in ring[9:16]],
                       np.float32)
        corners = [min(_band(rgb, t[ring[0]], -axis, 4.0 * self.unit), 3.0 * self.unit),
                   min(_band(rgb, t[ring[8]], axis, 4.0 * self.unit), 3.0 * self.unit)]
        return up, np.minimum(low, 3.0 * self.unit), corners, axis

    def _skin_colours(
        self, crop: np.ndarray, t: np.ndarray, eye: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Skin under the brow above each upper-lid point: (x (9,), RGB (9,3)) float32.

        A mix of 40 % skin just above the lid (15-30 % of the way up to the brow) and 60 % skin
        above the crease (55-80 %); each the brighter half of a short vertical run, so lashes
        and the crease's shadow are left out.
        """
        ring, brow = _EYES[eye], _LOWER_BROWS[eye]
        lid = t[ring[:9]][np.argsort(t[ring[:9], 0])]
        above = t[brow][np.argsort(t[brow, 0])]
        brow_y = np.interp(lid[:, 0], above[:, 0], above[:, 1])
        blurred = cv2.blur(crop, (3, 3)).astype(np.float32)
        colours = []
        def run(x: float, y: float, lo: float, hi: float, by: float) -> np.ndarray:
            ys = y + np.linspace(lo, hi, 5) * (by - y)
            ij = np.clip(np.round(np.stack([np.full(5, x), ys], 1)).astype(int), 0, self.size - 1)
            values = blurred[ij[:, 1], ij[:, 0]]
            return values[np.argsort(values.mean(axis=1))[2:]].mean(axis=0)

        for (x, y), by in zip(lid, brow_y):
            colours.append(0.4 * run(x, y, 0.15, 0.3, by) + 0.6 * run(x, y, 0.55, 0.8, by))
        # a closed lid bulges into the light: lift it halfway to the lit cheek below the eye
        cheek = np.clip(np.round(t[_CHEEKS[eye]]).astype(int), 0, self.size - 1)
        lit = np.median(blurred[cheek[:, 1], cheek[:, 0]], axis=0)
        colours = 0.5 * np.array(colours, np.float32) + 0.5 * lit
        smooth = (np.roll(colours, 1, 0) + 2 * colours + np.roll(colours, -1, 0)) / 4
        smooth[[0, -1]] = colours[[0, -1]]
        return lid[:, 0].astype(np.float32), smooth

    def paint(self, image: np.ndarray, fused_xy: np.ndarray) -> None:
        """Paint into `image` (S,S,3) uint8 in place; fused_xy: (478,2) crop pixels."""
        for (x0, y0, x1, y1), layer, alpha in self.layers(fused_xy):
            roi = image[y0:y1, x0:x1]
            roi[...] = cv2.blendLinear(layer, roi, alpha, 1.0 - alpha)

    def layers(self, fused_xy: np.ndarray) -> list[tuple[tuple[int, int, int, int], np.ndarray,
                                                        np.ndarray]]:
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

    def _covered_poly(self, xy: np.ndarray, eye: int) -> np.ndarray:
        """The target's eye ring, its upper lid raised past its own lash line; as the eye shuts,
        its lower lid and corners pushed out past their lines too."""
        arc = np.sin(np.linspace(0.125, 0.875, 7) * np.pi)
        up, low, corners, axis = self._bands[eye]
        reach = 2.0 * self.feather
        poly = self._target_xy[_EYES[eye]].copy()
        poly[1:8, 1] -= np.maximum(np.minimum(up + reach, 6.0 * self.unit), 2.5 * self.unit * arc)
        poly[9:16, 1] += 1.0 * self.unit * arc
        ring = _EYES[eye]
        gap_t = np.clip(self._target_xy[ring[15:8:-1], 1] - self._target_xy[ring[1:8], 1], 0, None)
        gap_f = np.clip(xy[ring[15:8:-1], 1] - xy[ring[1:8], 1], 0, None)
        closed = 1.0 - float(gap_f.mean()) / max(float(gap_t.mean()), 1e-3)
        shut = min(max((closed - 0.6) / 0.3, 0.0), 1.0)
        poly[9:16, 1] += shut * (low + self.feather * np.sqrt(arc)).astype(np.float32)
        poly[0] -= shut * (axis * (corners[0] + self.feather)).astype(np.float32)
        poly[8] += shut * (axis * (corners[1] + self.feather)).astype(np.float32)
        return poly

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
        upper_t[[0, 8]] = self._target_xy[ring[[0, 8]]]
        upper_f = xy[ring[:9]]
        xs = np.arange(x0, x1, dtype=np.float32)
        top = np.interp(xs, *upper_t[np.argsort(upper_t[:, 0])].T)
        margin = np.interp(xs, *upper_f[np.argsort(upper_f[:, 0])].T)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        depth = np.clip((margin - ys) / np.maximum(margin - top, 1.0), 0.0, 1.0)
        shade = 0.86 + 0.12 * np.sin(0.5 * np.pi * depth)
        skin_x, skin_rgb = self._skin[eye]
        colour = np.stack([np.interp(xs, skin_x, skin_rgb[:, c]) for c in range(3)], axis=-1)
        return shade[..., None] * colour[None, :, :]

    def _lash_mask(self, xy, eye: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """(h,w) float32 in [0,1]: a soft line along the fused upper lid, heavier at the outside."""
        upper = xy[_EYES[eye][:9]]
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        pts = np.round((upper - (x0, y0)) * (1 << _SHIFT)).astype(np.int32)
        thickness = max(1, int(round(0.9 * self.unit)))
        cv2.polylines(mask, [pts], False, 230, thickness, lineType=cv2.LINE_AA, shift=_SHIFT)
        return cv2.GaussianBlur(mask, (0, 0), 0.5 * self.unit).astype(np.float32) / 255.0
