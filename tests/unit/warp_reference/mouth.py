"""Mouth-cavity fill for the warp renderer: an opened mouth is painted, not smeared.

A warp can only stretch the target's closed lip line over an opened mouth. Where the fused inner
lips open beyond the target's, `MouthFiller.paint` draws, inside the fused inner-lip polygon:

- a cavity: the target's lip colour darkened, darkest at the back/centre;
- an upper-teeth band hanging from the upper inner lip (height ~ the opening, capped; fading
  towards the corners; soft lower edge) and, for wide openings, a lower-teeth band;
- if the target's own mouth is open in its neutral, its own interior on top, fitted column by
  column between the fused inner lips, each part following its own lip: with teeth in its
  middle, or a slit, it parts at its darkest row into the painted cavity; a wide-open one on
  a tongue and throat stretches the flesh between its lip bands;

composited through a feathered polygon mask whose blur stays inside the lips, so they stay sharp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from reenact.landmarks.regions import REGIONS

# Inner / outer lip contours (closed polygons, MediaPipe mesh). The inner ring runs 78, the lower
# lip (95 ... 324), 308, the upper lip (415 ... 191).
INNER_RING = REGIONS["lips_inner"]
OUTER_RING = REGIONS["lips_outer"]
UPPER_INNER = np.concatenate([INNER_RING[:1], INNER_RING[19:9:-1]])  # 78, 191 ... 415, 308
LOWER_INNER = INNER_RING[:11]  # 78, 95 ... 324, 308
LEFT_CORNER, RIGHT_CORNER = 78, 308  # inner mouth corners (image-left, image-right)
UPPER_LIP_CENTRE, LOWER_LIP_CENTRE = 13, 14
MIDDLE, TEETH_SHARE, TEETH_VALUE = (0.3, 0.75), 0.1, 0.6
FLESH_GAP, FLESH_BANDS = 0.4, (0.3, 0.25)
PART_RANGE = (0.3, 0.9)

_FIX = 16.0  # cv2.fillPoly sub-pixel precision: shift=4 bits


def mean_opening(xy: np.ndarray) -> float:
    """Mean gap between the inner lips over their 9 point pairs, in pixels (>= 0)."""
    return float(np.clip(xy[LOWER_INNER[1:-1], 1] - xy[UPPER_INNER[1:-1], 1], 0.0, None).mean())


def fill_polygon(mask: np.ndarray, poly: np.ndarray, offset: tuple[float, float]) -> None:
    """Rasterise `poly` (K,2 pixels, minus `offset`) into uint8 `mask` (255 inside), sub-pixel."""
    pts = np.round((poly - np.asarray(offset)) * _FIX).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=4)


def _smoothstep(x: float, lo: float, hi: float) -> float:
    t = min(max((x - lo) / (hi - lo), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


def _band_rows(ys, up_f, lo_f, up_t, lo_t, bands):
    """The target row each fused row samples between two edges (squashed, or with `bands` of
    the target's gap kept at their scale under the upper and over the lower edge)."""
    gap_t = np.maximum(lo_t - up_t, 0.5)
    gap_f = np.maximum(lo_f - up_f, 0.5)
    d = ys - up_f
    squash = up_t + d * (gap_t / gap_f)
    top, bottom = bands[0] * gap_t, bands[1] * gap_t
    middle = (d - top) * ((gap_t - top - bottom) / np.maximum(gap_f - top - bottom, 0.5))
    wide = np.where(
        d < top, up_t + d, np.where(d > gap_f - bottom, lo_t - (gap_f - d), up_t + top + middle)
    )
    return np.where(gap_f > gap_t, wide, squash).astype(np.float32)


def _parting(grey, inside, top, bottom):
    """The darkest row's share of the gap, between PART_RANGE, over the `inside` columns."""
    gap = max(bottom - top, 1.0)
    best, share = math.inf, 0.5 * sum(PART_RANGE)
    for y in range(
        max(math.ceil(top + PART_RANGE[0] * gap), 0),
        min(math.floor(top + PART_RANGE[1] * gap), grey.shape[0] - 1) + 1,
    ):
        if inside[y].sum() >= 2:
            level = float(grey[y, inside[y]].mean())
            if level < best:
                best, share = level, (y - top) / gap
    return share


def _lip_points(xy, index):
    pts = xy[index, :2]
    return np.ascontiguousarray(pts[np.argsort(pts[:, 0])].T, dtype=np.float32)


def _lip_curve(xy: np.ndarray, index: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """y of a lip contour at columns xs (linear between points, sorted by x)."""
    pts = xy[index]
    order = np.argsort(pts[:, 0])
    return np.interp(xs, pts[order, 0], pts[order, 1]).astype(np.float32)


@dataclass(frozen=True)
class _Interior:
    """The target's own open-mouth interior, cut out once in `set_target`.

    patch: (h,w,4) float32 premultiplied RGB and alpha; origin: (2,) crop pixel of the patch's
    top-left; lip: (2,) the target's upper-lip centre (13); width: the target's inner mouth
    width in pixels; upper, lower: its inner lips (2,K); bands: kept shares of its gap.
    """

    patch: np.ndarray
    origin: np.ndarray
    lip: np.ndarray
    width: float
    upper: np.ndarray
    lower: np.ndarray
    bands: tuple
    parts: bool


class MouthFiller:
    """Paints a mouth cavity with teeth where the fused mouth is open beyond the target's.

    size: crop side in pixels; every length below scales with size / 256.
    """

    def __init__(self, *, size: int) -> None:
        self.size = int(size)
        self.unit = self.size / 256.0
        self.feather_sigma = 0.6 * self.unit
        self._target_opening = 0.0
        self._lip_colour = np.array([150.0, 70.0, 70.0], np.float32)
        self._teeth_colour = np.array([232.0, 226.0, 212.0], np.float32)
        self._interior: _Interior | None = None
        self._palette = np.eye(3, dtype=np.float32)

    def set_target(self, target_crop: np.ndarray, target_xy: np.ndarray) -> None:
        """target_crop: (S,S,3) uint8; target_xy: (478,2) crop pixels of its neutral face."""
        xy = np.ascontiguousarray(np.asarray(target_xy, np.float32)[:, :2])
        self._target_opening = mean_opening(xy)
        self._target_spread = float(np.hypot(*(xy[RIGHT_CORNER] - xy[LEFT_CORNER])))
        self._lip_colour = self._region_colour(target_crop, xy[OUTER_RING], xy[INNER_RING])
        luminance = cv2.cvtColor(target_crop, cv2.COLOR_RGB2GRAY)
        face = np.zeros(luminance.shape, np.uint8)
        fill_polygon(face, cv2.convexHull(xy.astype(np.float32)).reshape(-1, 2), (0.0, 0.0))
        bright = float(np.percentile(luminance[face > 127], 97)) if (face > 127).any() else 220.0
        grey = float(np.ptp(self._lip_colour)) < 6.0
        base = np.array([232.0, 232.0, 232.0] if grey else [232.0, 226.0, 212.0], np.float32)
        self._teeth_colour = base * min(max(bright / 225.0, 0.45), 1.0)
        self._bright = bright
        self._interior = self._grab_interior(target_crop, xy)
        # columns: cavity (lip colour), tongue (redder lip colour), teeth
        tongue = self._lip_colour * np.float32([1.0, 0.75, 0.75])
        self._palette = np.stack([self._lip_colour, tongue, self._teeth_colour], axis=1)

    @staticmethod
    def _region_colour(crop: np.ndarray, outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
        """Mean RGB (3,) float32 between the outer and inner lip contours (the lips)."""
        mask = np.zeros(crop.shape[:2], np.uint8)
        fill_polygon(mask, outer, (0.0, 0.0))
        hole = np.zeros_like(mask)
        fill_polygon(hole, inner, (0.0, 0.0))
        sel = (mask > 127) & (hole < 128)
        if sel.sum() < 4:
            return np.array([150.0, 70.0, 70.0], np.float32)
        return crop[sel].reshape(-1, 3).mean(axis=0).astype(np.float32)

    def _grab_interior(self, crop: np.ndarray, xy: np.ndarray) -> _Interior | None:
        """The target's own mouth interior, if its neutral mouth is open (else None)."""
        if self._target_opening < 1.5 * self.unit:
            return None
        poly = xy[INNER_RING]
        x0, y0 = np.floor(poly.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 3
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, self.size), min(y1, self.size)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        fill_polygon(mask, poly, (float(x0), float(y0)))
        alpha = cv2.GaussianBlur(mask, (0, 0), self.feather_sigma).astype(np.float32) / 255.0
        upper, lower = _lip_points(xy, UPPER_INNER), _lip_points(xy, LOWER_INNER)
        xs = np.arange(x0, x1, dtype=np.float32)
        up = np.interp(xs, *upper)[None, :] - y0
        gap = np.maximum(np.interp(xs, *lower)[None, :] - y0 - up, 1.0)
        depth = (np.arange(y1 - y0, dtype=np.float32)[:, None] - up) / gap
        left, right = xy[LEFT_CORNER], xy[RIGHT_CORNER]
        half = 0.5 * max(float(right[0] - left[0]), 1.0)
        inside = (mask > 127) & (np.abs((xs[None, :] - 0.5 * (left[0] + right[0])) / half) < 0.5)
        middle = inside & (depth > MIDDLE[0]) & (depth < MIDDLE[1])
        hsv = cv2.cvtColor(crop[y0:y1, x0:x1], cv2.COLOR_RGB2HSV)[middle]
        pale = (hsv[:, 2] > TEETH_VALUE * self._bright) & (hsv[:, 1] < 90)
        teeth = len(hsv) and float(pale.mean()) > TEETH_SHARE
        bands, parts = FLESH_BANDS, False
        if teeth or (
            xy[LOWER_LIP_CENTRE, 1] - xy[UPPER_LIP_CENTRE, 1]
            < FLESH_GAP * float(np.hypot(*(xy[RIGHT_CORNER] - xy[LEFT_CORNER])))
        ):
            grey = cv2.cvtColor(crop[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32)
            share = _parting(
                grey, inside, xy[UPPER_LIP_CENTRE, 1] - y0, xy[LOWER_LIP_CENTRE, 1] - y0
            )
            bands, parts = (share, 1.0 - share), True
        return _Interior(
            patch=np.dstack([crop[y0:y1, x0:x1].astype(np.float32) * alpha[..., None], alpha]),
            origin=np.array([x0, y0], np.float32),
            lip=xy[UPPER_LIP_CENTRE].copy(),
            width=float(np.hypot(*(xy[RIGHT_CORNER] - xy[LEFT_CORNER]))),
            upper=upper,
            lower=lower,
            bands=bands,
            parts=parts,
        )

    def paint(self, image: np.ndarray, fused_xy: np.ndarray) -> None:
        """Paint the cavity into `image` (S,S,3) uint8 in place; fused_xy: (478,2|3) crop pixels.

        Nothing is painted until the fused mouth is open ~0.4 px (x size/256) more than the
        target's; the paint fades in fully by 2.5 px more.
        """
        for (x0, y0, x1, y1), layer, alpha in self.layers(fused_xy):
            roi = image[y0:y1, x0:x1]
            roi[...] = cv2.blendLinear(layer, roi, alpha, 1.0 - alpha)

    def layers(
        self, fused_xy: np.ndarray
    ) -> list[tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]]:
        """What `paint` blends in: [] or [(box (x0,y0,x1,y1), cavity (h,w,3) uint8, alpha (h,w)
        float32)]."""
        xy = np.asarray(fused_xy, np.float32)[:, :2]
        excess = mean_opening(xy) - self._target_opening
        if excess < 0.0:
            return self._seal(xy, -excess)
        strength = _smoothstep(excess, 0.4 * self.unit, 2.5 * self.unit)
        if strength <= 0.0:
            return []
        poly = xy[INNER_RING]
        pad = int(math.ceil(3 * self.feather_sigma)) + 2
        x0, y0 = np.floor(poly.min(axis=0)).astype(int) - pad
        x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + pad + 1
        x0, y0 = max(int(x0), 0), max(int(y0), 0)
        x1, y1 = min(int(x1), self.size), min(int(y1), self.size)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return []
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        # the feather stays inside the lips: rasterise a polygon shrunk by ~one sigma
        centre = poly.mean(axis=0)
        shrink = self.feather_sigma / max(float(np.abs(poly - centre).max()), 1.0)
        fill_polygon(mask, centre + (1.0 - shrink) * (poly - centre), (float(x0), float(y0)))
        alpha = cv2.GaussianBlur(mask, (0, 0), self.feather_sigma).astype(np.float32)
        alpha *= strength / 255.0
        layer = cv2.convertScaleAbs(self._layer(xy, x0, y0, x1, y1))
        return [((x0, y0, x1, y1), layer, alpha)]

    def _seal(self, xy: np.ndarray, closing: float) -> list:
        """The closed-lip seal where the fused inner lips close `closing` px below the
        target's: lip colour x 0.75, a Gaussian crease (sigma 1 px, half as dark) along the
        middle of the fused lip line, over the gap plus 1.2 px each side (lengths x size/256);
        gone as the lips part, from a mean gap of 1 px to 3 px."""
        strength = _smoothstep(closing, 0.4 * self.unit, 2.5 * self.unit) * (
            1.0 - _smoothstep(mean_opening(xy), self.unit, 3.0 * self.unit)
        )
        if strength <= 0.0:
            return []
        reach = 1.2 * self.unit
        poly = xy[INNER_RING]
        lo, hi = int(math.ceil(reach)) + 2, int(math.ceil(reach)) + 3
        x0, y0 = np.floor(poly.min(axis=0)).astype(int) - lo
        x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + hi
        x0, y0 = max(int(x0), 0), max(int(y0), 0)
        x1, y1 = min(int(x1), self.size), min(int(y1), self.size)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return []
        xs = np.arange(x0, x1, dtype=np.float32)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        top = _lip_curve(xy, UPPER_INNER, xs)[None, :]
        bottom = _lip_curve(xy, LOWER_INNER, xs)[None, :]
        off = np.abs(ys - 0.5 * (top + bottom))
        half = 0.5 * np.maximum(bottom - top, 0.0) + reach
        centre_x = 0.5 * (xy[LEFT_CORNER, 0] + xy[RIGHT_CORNER, 0])
        half_width = max(0.5 * float(xy[RIGHT_CORNER, 0] - xy[LEFT_CORNER, 0]), 0.5)
        adx = np.abs(xs[None, :] - centre_x) / half_width
        alpha = (
            np.clip((half - off) / (0.8 * self.unit) + 0.5, 0.0, 1.0)
            * np.clip((1.05 - adx) / 0.1, 0.0, 1.0)
            * strength
        )
        crease = np.exp(-((off / self.unit) ** 2)) * np.clip((1.0 - adx) / 0.3, 0.0, 1.0)
        shade = 0.75 * (1.0 - 0.5 * crease)
        seal = shade[..., None] * self._lip_colour[None, None, :]
        return [
            (
                (x0, y0, x1, y1),
                cv2.convertScaleAbs(seal.astype(np.float32)),
                alpha.astype(np.float32),
            )
        ]

    def _layer(self, xy: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """The mouth's inside over the box: (y1-y0, x1-x0, 3) float32 RGB.

        Built as three weight maps (lip-coloured cavity, tongue, teeth) and one colour matrix.
        """
        xs = np.arange(x0, x1, dtype=np.float32)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        upper = _lip_curve(xy, UPPER_INNER, xs)[None, :]
        lower = _lip_curve(xy, LOWER_INNER, xs)[None, :]
        opening = np.maximum(lower - upper, 0.0)
        left, right = xy[LEFT_CORNER], xy[RIGHT_CORNER]
        width = max(float(right[0] - left[0]), 1.0)
        dx = (xs[None, :] - 0.5 * (left[0] + right[0])) / (0.5 * width)
        dy = (ys - upper) / np.maximum(opening, 1.0)
        # the cavity: darkest at the back (centre), the tongue a lighter, redder floor
        cavity = 0.14 + 0.28 * np.minimum(np.sqrt(dx * dx + ((dy - 0.45) * 1.4) ** 2), 1.0)
        tongue = np.clip((dy - 0.6) * 2.5, 0.0, 1.0) * np.clip(1.0 - np.abs(dx) / 0.7, 0.0, 1.0)
        tongue *= 0.25
        edge = 0.8 * self.unit
        across = np.sqrt(np.clip(1.0 - (np.abs(dx) / 0.8) ** 2, 0.0, 1.0))
        spread = float(np.hypot(*(right - left))) / max(self._target_spread, 1.0)
        across = across * _smoothstep(spread, 0.9, 1.1)  # no teeth in a rounded "O"
        upper_h = np.minimum(0.4 * opening, 0.14 * width) * across
        teeth_a = np.clip((upper + upper_h - ys) / edge + 0.5, 0.0, 1.0) * (upper_h > 0.5)
        teeth_a *= np.clip((0.85 - np.abs(dx)) / 0.25, 0.0, 1.0)
        rel = np.clip((ys - upper) / np.maximum(upper_h, 1.0), 0.0, 1.0)
        tone = (1.0 - 0.55 * dx * dx) * self._tooth_gaps(dx) * (0.82 + 0.18 * np.sqrt(rel))
        lower_h = np.minimum(0.12 * opening, 0.05 * width) * across * (opening > 0.2 * width)
        lower_a = np.clip((ys - (lower - lower_h)) / edge + 0.5, 0.0, 1.0) * (lower_h > 0.5)
        lower_a *= 0.8 * (ys <= lower + edge) * np.clip((0.6 - np.abs(dx)) / 0.2, 0.0, 1.0)
        keep = (1.0 - teeth_a) * (1.0 - lower_a)  # what the teeth leave of the cavity
        teeth = (teeth_a * (1.0 - lower_a) + 0.6 * lower_a) * tone
        weights = cv2.merge(
            [
                (cavity * keep).astype(np.float32),
                (tongue * keep).astype(np.float32),
                teeth.astype(np.float32),
            ]
        )
        layer = cv2.transform(weights, self._palette)
        if self._interior is not None:
            self._own_interior(layer, xy, x0, y0, width)
        return layer

    @staticmethod
    def _tooth_gaps(dx: np.ndarray) -> np.ndarray:
        """Faint darker lines between the front teeth, at fixed fractions of the mouth width."""
        gaps = np.float32([0.0, 0.2, -0.2, 0.37, -0.37, 0.52, -0.52])
        dist = np.abs(dx[..., None] - gaps).min(axis=-1)
        return 1.0 - 0.18 * np.exp(-((dist / 0.025) ** 2))

    def _own_interior(
        self, layer: np.ndarray, xy: np.ndarray, x0: int, y0: int, width: float
    ) -> None:
        """Lay the target's own mouth interior, fitted between the fused lips, over `layer`."""
        inside = self._interior
        h, w = layer.shape[:2]
        sx = width / max(inside.width, 1.0)
        xs = np.arange(x0, x0 + w, dtype=np.float32)
        src_x = inside.lip[0] + (xs - xy[UPPER_LIP_CENTRE, 0]) / sx
        up_f = _lip_curve(xy, UPPER_INNER, xs)
        lo_f = _lip_curve(xy, LOWER_INNER, xs)
        up_t = np.interp(src_x, *inside.upper).astype(np.float32)
        lo_t = np.interp(src_x, *inside.lower).astype(np.float32)
        ys = np.arange(y0, y0 + h, dtype=np.float32)[:, None]
        map_y = _band_rows(ys, up_f, lo_f, up_t, lo_t, inside.bands) - inside.origin[1]
        map_x = np.ascontiguousarray(
            np.broadcast_to(src_x - inside.origin[0], map_y.shape), dtype=np.float32
        )
        moved = cv2.remap(
            inside.patch,
            map_x,
            map_y,
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        if inside.parts:
            gap_t = lo_t - up_t
            gone = np.clip(
                np.minimum(ys - up_f - inside.bands[0] * gap_t, lo_f - inside.bands[1] * gap_t - ys)
                / self.unit
                + 0.5,
                0.0,
                1.0,
            )
            moved = moved * (1.0 - gone * (lo_f - up_f > gap_t))[..., None]
        layer[...] = layer * (1.0 - moved[..., 3:]) + moved[..., :3]
