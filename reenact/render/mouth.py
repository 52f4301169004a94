"""Mouth-cavity fill for the warp renderer: an opened mouth is painted, not smeared.

A warp can only stretch the target's closed lip line over an opened mouth. Where the fused inner
lips open beyond the target's, `MouthFiller.overlay` draws, inside the fused inner-lip polygon:

- a cavity: the target's lip colour darkened, darkest at the back/centre;
- an upper-teeth band hanging from the upper inner lip (height ~ the opening, capped; fading
  towards the corners; soft lower edge) and, for wide openings, a lower-teeth band; both as far
  as the lips are spread: none in a mouth rounded narrower than the target's (an "O", where the
  lips cover the teeth), half at the neutral width, all from 1.1 times it (a smile is wider);
- if the target's own mouth is open in its neutral, its own interior on top, fitted column by
  column between the fused inner lips, each part following its own lip at its own scale: most
  open mouths (teeth, or a slit) part at their darkest row (`parting`: the gap between the
  upper and lower teeth, under the upper teeth, or the slit) and the painted cavity shows in
  between as the mouth opens further; a mouth open wide on a tongue and a throat keeps the rows
  under the upper lip and over the lower one at their scale and stretches the flesh between
  them (`FLESH_BANDS`). Moved whole with the upper lip, as it was, a yawning target's lower lip
  rim and tongue stayed where they were above a painted dark band that read as a second lower
  lip, so a drawn jaw drop read back as much smaller (the lab's `lab/drawn_moves.py`),
  and a grinning one's lower lip rim hung under its teeth;

composited through a feathered polygon mask whose blur stays inside the lips, so they stay sharp.

Where the fused inner lips close *below* the target's (a target picture that grins or talks,
driven to rest: `fusion.target_neutral`), the warp squeezes the picture's teeth into a bright
line between the lips. `MouthFiller` then seals the lips instead: over a thin band along the
fused lip line (its gap plus ~1 px each side, x size/256), the target's lip colour darkened a
little, with a soft dark crease along the middle where real closed lips meet (fading out as the
lips part: parted lips show the picture's teeth between them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from reenact.landmarks.regions import REGIONS
from reenact.ramps import smoothstep
from reenact.render.corrections.base import Correction, Layer
from reenact.render.paint import band_rows, clip01, mean32, mean_rows, pad_box

# Inner / outer lip contours (closed polygons, MediaPipe mesh). The inner ring runs 78, the lower
# lip (95 ... 324), 308, the upper lip (415 ... 191).
INNER_RING = REGIONS["lips_inner"]
OUTER_RING = REGIONS["lips_outer"]
UPPER_INNER = np.concatenate([INNER_RING[:1], INNER_RING[19:9:-1]])  # 78, 191 ... 415, 308
LOWER_INNER = INNER_RING[:11]  # 78, 95 ... 324, 308
LEFT_CORNER, RIGHT_CORNER = 78, 308  # inner mouth corners (image-left, image-right)
UPPER_LIP_CENTRE, LOWER_LIP_CENTRE = 13, 14
# the closed-lip seal, lengths x size/256: the band's reach beyond the fused gap on each side,
# the crease's width (Gaussian sigma) and darkness, the band's tone (x the target's lip colour);
# chosen so that expression stills driven to rest match their neutral still's mouth
# (`reenact eval --stills`'s "At rest"), and looked at on colour portraits
SEAL_REACH, CREASE_WIDTH, CREASE_DARK, SEAL_TONE = 1.2, 1.0, 0.5, 0.75
# How the target's own open mouth opens further. A mouth open wide (its gap at least FLESH_GAP
# of its width) with no teeth in its middle (between MIDDLE of its gap from the upper inner lip,
# across the middle of its width, at most TEETH_SHARE of the pixels bright and pale: HSV value
# over TEETH_VALUE of the face's brightness (its 97th percentile grey level; 140 of 255 on a
# well-lit picture), saturation < 90 of 255) shows a tongue and a throat: it keeps FLESH_BANDS of
# its gap under the upper and over the lower lip at their own scale and stretches the flesh
# between.
# The thresholds sit between the open-mouthed portraits that show teeth and those that show a
# tongue and a throat, which are also the ones open wider than most.
# Any other mouth (teeth, or a slit a few pixels high whose rows would stretch into a smear)
# parts at its darkest row between PART_RANGE of its gap (`parting`: between the upper and lower
# teeth, under the upper teeth, or the slit itself): what lies above it follows the upper lip,
# what lies below the lower one, and the painted cavity shows between them.
MIDDLE, TEETH_SHARE, TEETH_VALUE = (0.3, 0.75), 0.1, 0.6
FLESH_GAP, FLESH_BANDS = 0.4, (0.3, 0.25)
PART_RANGE = (0.3, 0.9)

_FIX = 16.0  # cv2.fillPoly sub-pixel precision: shift=4 bits


def mean_opening(xy: np.ndarray) -> float:
    """Mean gap between the inner lips over their 9 point pairs, in pixels (>= 0)."""
    return mean32(np.maximum(xy[LOWER_INNER[1:-1], 1] - xy[UPPER_INNER[1:-1], 1], 0.0))


def fill_polygon(mask: np.ndarray, poly: np.ndarray, offset: tuple[float, float]) -> None:
    """Rasterise `poly` (K,2 pixels, minus `offset`) into uint8 `mask` (255 inside), sub-pixel."""
    pts = np.round((poly - np.asarray(offset)) * _FIX).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=4)


def _across(xy: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, float]:
    """((1, len(xs)) signed place of columns xs across the mouth: -1 / 1 at the inner corners,
    the inner mouth's width in pixels (>= 1))."""
    left, right = xy[LEFT_CORNER], xy[RIGHT_CORNER]
    width = max(float(right[0] - left[0]), 1.0)
    return (xs[None, :] - 0.5 * (left[0] + right[0])) / (0.5 * width), width


def _lip_points(xy: np.ndarray, index: np.ndarray) -> np.ndarray:
    """A lip contour's points sorted by x: (2,K) float32 x row, y row."""
    pts = xy[index, :2]
    return np.ascontiguousarray(pts[np.argsort(pts[:, 0])].T, dtype=np.float32)


def lip_curve(xy: np.ndarray, index: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """y of a lip contour at columns xs (linear between points, sorted by x)."""
    return np.interp(xs, *_lip_points(xy, index)).astype(np.float32)


def parting(grey: np.ndarray, inside: np.ndarray, top: float, bottom: float) -> float:
    """Where an open mouth with teeth parts as it opens wider, as a share of its gap from the
    upper lip: its darkest row between `PART_RANGE` of the way from the upper lip's centre `top`
    to the lower one's `bottom` (patch rows). grey: (h,w) float32 luminance; inside: (h,w) bool,
    the interior's middle columns. The middle of the range when no row there has interior
    pixels."""
    gap = max(bottom - top, 1.0)
    best, share = math.inf, 0.5 * sum(PART_RANGE)
    for y in range(max(math.ceil(top + PART_RANGE[0] * gap), 0),
                   min(math.floor(top + PART_RANGE[1] * gap), grey.shape[0] - 1) + 1):
        sel = inside[y]
        if sel.sum() >= 2:
            level = float(grey[y, sel].mean())
            if level < best:
                best, share = level, (y - top) / gap
    return share


@dataclass(frozen=True)
class _Interior:
    """The target's own open-mouth interior, cut out once in `prepare`.

    patch: (h,w,4) float32: premultiplied RGB and, last, alpha in [0,1] (the feathered inner-lip
    polygon); origin: (2,) crop pixel of the patch's top-left; lip: (2,) the target's upper-lip
    centre (13); width: the target's inner mouth width in pixels; upper, lower: the target's
    inner lips, each (2,K) float32 x row (increasing), y row; bands: the shares of its gap kept
    at their own scale under the upper lip and over the lower one (`band_rows`); parts: True
    when the rows between them (stretched from the row it parts at) show the painted cavity.
    """

    patch: np.ndarray
    origin: np.ndarray
    lip: np.ndarray
    width: float
    upper: np.ndarray
    lower: np.ndarray
    bands: tuple[float, float]
    parts: bool


class MouthFiller(Correction):
    """Paints a mouth cavity with teeth where the fused mouth is open beyond the target's.

    size: crop side in pixels; every length below scales with size / 256. A generator on the
    warp keeps what it paints (`kept`): the network washes a cavity into a grey smear.
    """

    name = "mouth"
    paints = True
    kept = True

    def __init__(self, *, size: int) -> None:
        self.size = int(size)
        self.unit = self.size / 256.0
        self.feather_sigma = 0.6 * self.unit
        self._target_opening = 0.0
        self._target_width = 1.0  # inner mouth corner to corner on the target's neutral face
        self._lip_colour = np.array([150.0, 70.0, 70.0], np.float32)
        self._teeth_colour = np.array([232.0, 226.0, 212.0], np.float32)
        self._interior: _Interior | None = None
        self._palette = np.eye(3, dtype=np.float32)

    def prepare(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        """target_crop: (S,S,3) uint8; target_landmarks: (478,2|3) crop pixels of its neutral
        face."""
        xy = np.ascontiguousarray(np.asarray(target_landmarks, np.float32)[:, :2])
        self._target_opening = mean_opening(xy)
        self._target_width = max(float(np.hypot(*(xy[RIGHT_CORNER] - xy[LEFT_CORNER]))), 1.0)
        self._lip_colour = self._region_colour(target_crop, xy[OUTER_RING], xy[INNER_RING])
        luminance = cv2.cvtColor(target_crop, cv2.COLOR_RGB2GRAY)
        face = np.zeros(luminance.shape, np.uint8)
        fill_polygon(face, cv2.convexHull(xy.astype(np.float32)).reshape(-1, 2), (0.0, 0.0))
        bright = float(np.percentile(luminance[face > 127], 97)) if (face > 127).any() else 220.0
        grey = float(np.ptp(self._lip_colour)) < 6.0
        base = np.array([232.0, 232.0, 232.0] if grey else [232.0, 226.0, 212.0], np.float32)
        self._teeth_colour = base * min(max(bright / 225.0, 0.45), 1.0)
        self._interior = self._grab_interior(target_crop, xy, bright)
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

    def _grab_interior(self, crop: np.ndarray, xy: np.ndarray, bright: float) -> _Interior | None:
        """The target's own mouth interior, if its neutral mouth is open (else None); bright:
        the face's brightness (its 97th percentile grey level)."""
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
        bands, parts = self._bands(crop[y0:y1, x0:x1], xy, (x0, y0), mask > 127, bright)
        rgb = crop[y0:y1, x0:x1].astype(np.float32) * alpha[..., None]
        return _Interior(
            patch=np.dstack([rgb, alpha]), origin=np.array([x0, y0], np.float32),
            lip=xy[UPPER_LIP_CENTRE].copy(), width=self._target_width,
            upper=_lip_points(xy, UPPER_INNER), lower=_lip_points(xy, LOWER_INNER),
            bands=bands, parts=parts,
        )

    def _bands(self, patch: np.ndarray, xy: np.ndarray, origin: tuple[int, int],
               inner: np.ndarray, bright: float) -> tuple[tuple[float, float], bool]:
        """The shares of the target's open mouth's gap kept at their own scale under the upper
        and over the lower lip as it opens further (`band_rows`), and whether it parts:
        `FLESH_BANDS` and False, or the shares of the row it parts at (`parting`; they add up
        to 1) and True. patch: (h,w,3) uint8 from `origin`; xy: the target's (478,2) crop
        points; inner: (h,w) bool inside its inner lips; bright: the face's brightness."""
        x0, y0 = origin
        h, w = inner.shape
        xs = np.arange(x0, x0 + w, dtype=np.float32)
        up = lip_curve(xy, UPPER_INNER, xs)[None, :] - y0  # the lips per column, patch rows
        gap = np.maximum(lip_curve(xy, LOWER_INNER, xs)[None, :] - y0 - up, 1.0)
        depth = (np.arange(h, dtype=np.float32)[:, None] - up) / gap
        inside = inner & (np.abs(_across(xy, xs)[0]) < 0.5)
        hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)[inside & (depth > MIDDLE[0])
                                                       & (depth < MIDDLE[1])]
        pale = (hsv[:, 2] > TEETH_VALUE * bright) & (hsv[:, 1] < 90)
        teeth = len(hsv) and float(pale.mean()) > TEETH_SHARE
        top, bottom = xy[UPPER_LIP_CENTRE, 1] - y0, xy[LOWER_LIP_CENTRE, 1] - y0
        if not teeth and bottom - top >= FLESH_GAP * self._target_width:
            return FLESH_BANDS, False
        grey = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
        share = parting(grey, inside, top, bottom)
        return (share, 1.0 - share), True

    def overlay(self, fused_xy: np.ndarray) -> list[Layer]:
        """[] or [the cavity or the seal as a `Layer`]; fused_xy: (478,2|3) crop pixels.

        Nothing is painted until the fused mouth is open ~0.4 px (x size/256) more than the
        target's, or closed that much more; the paint fades in fully by 2.5 px more.
        """
        xy = np.asarray(fused_xy, np.float32)[:, :2]
        excess = mean_opening(xy) - self._target_opening
        if excess < 0.0:
            return self._seal(xy, -excess)
        return self._cavity(xy, excess)

    def cavity(self, fused_xy: np.ndarray) -> list[Layer]:
        """`overlay` without the closed-lip seal: [] or [the cavity] (a learned mouth draws the
        closed lips itself)."""
        xy = np.asarray(fused_xy, np.float32)[:, :2]
        excess = mean_opening(xy) - self._target_opening
        return self._cavity(xy, excess) if excess >= 0.0 else []

    def _cavity(self, xy: np.ndarray, excess: float) -> list[Layer]:
        """[] or [the cavity] where the fused inner lips open `excess` px beyond the target's."""
        strength = smoothstep((excess - 0.4 * self.unit) / (2.5 * self.unit - 0.4 * self.unit))
        if strength <= 0.0:
            return []
        poly = xy[INNER_RING]
        pad = int(math.ceil(3 * self.feather_sigma)) + 2
        x0, y0, x1, y1 = pad_box(poly, pad, pad + 1, self.size)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return []
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        # the feather stays inside the lips: rasterise a polygon shrunk by ~one sigma
        centre = mean_rows(poly)
        shrink = self.feather_sigma / max(float(np.abs(poly - centre).max()), 1.0)
        fill_polygon(mask, centre + (1.0 - shrink) * (poly - centre), (float(x0), float(y0)))
        alpha = cv2.GaussianBlur(mask, (0, 0), self.feather_sigma).astype(np.float32)
        alpha *= strength / 255.0
        layer = cv2.convertScaleAbs(self._layer(xy, x0, y0, x1, y1))
        return [Layer((x0, y0, x1, y1), layer, alpha)]

    def _seal(self, xy: np.ndarray, closing: float) -> list[Layer]:
        """The closed-lip seal (module doc) where the fused gap is `closing` px below the
        target's: [] or [(box, seal (h,w,3) uint8, alpha (h,w) float32)]. Only lips (nearly)
        closed are sealed: from a mean gap of 1 px (x size/256) the squeezed picture shows
        through, fully from 3 px (lips parted over the teeth, as in a smile)."""
        gap = mean_opening(xy)
        u = self.unit
        strength = (smoothstep((closing - 0.4 * u) / (2.5 * u - 0.4 * u))
                    * (1.0 - smoothstep((gap - 1.0 * u) / (3.0 * u - 1.0 * u))))
        if strength <= 0.0:
            return []
        reach = SEAL_REACH * self.unit
        x0, y0, x1, y1 = pad_box(xy[INNER_RING], int(math.ceil(reach)) + 2,
                                 int(math.ceil(reach)) + 3, self.size)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return []
        xs = np.arange(x0, x1, dtype=np.float32)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        upper = lip_curve(xy, UPPER_INNER, xs)[None, :]
        lower = lip_curve(xy, LOWER_INNER, xs)[None, :]
        middle = 0.5 * (upper + lower)
        half = 0.5 * np.maximum(lower - upper, 0.0) + reach
        adx = np.abs(_across(xy, xs)[0])
        off = np.abs(ys - middle)
        alpha = clip01((half - off) / (0.8 * self.unit) + 0.5) * clip01((1.05 - adx) / 0.1)
        alpha *= strength
        crease = np.exp(-((off / (CREASE_WIDTH * self.unit)) ** 2)) * clip01((1.0 - adx) / 0.3)
        shade = (SEAL_TONE * (1.0 - CREASE_DARK * crease)).astype(np.float32)
        seal = cv2.merge([shade * np.float32(c) for c in self._lip_colour])
        return [Layer((x0, y0, x1, y1), cv2.convertScaleAbs(seal), alpha.astype(np.float32))]

    def _layer(self, xy: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """The mouth's inside over the box: (y1-y0, x1-x0, 3) float32 RGB.

        Built as three weight maps (lip-coloured cavity, tongue, teeth) and one colour matrix.
        """
        xs = np.arange(x0, x1, dtype=np.float32)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        upper = lip_curve(xy, UPPER_INNER, xs)[None, :]
        lower = lip_curve(xy, LOWER_INNER, xs)[None, :]
        opening = np.maximum(lower - upper, 0.0)
        left, right = xy[LEFT_CORNER], xy[RIGHT_CORNER]
        dx, width = _across(xy, xs)
        adx, below = np.abs(dx), ys - upper
        dy = below / np.maximum(opening, 1.0)
        # the cavity: darkest at the back (centre), the tongue a lighter, redder floor
        cavity = 0.14 + 0.28 * np.minimum(np.sqrt(dx * dx + ((dy - 0.45) * 1.4) ** 2), 1.0)
        tongue = clip01((dy - 0.6) * 2.5) * clip01(1.0 - adx / 0.7)
        tongue *= 0.25
        edge = 0.8 * self.unit
        # the teeth show as far as the lips are spread (none in a rounded "O")
        spread = float(np.hypot(*(right - left))) / self._target_width
        across = np.sqrt(clip01(1.0 - (adx / 0.8) ** 2)) * smoothstep((spread - 0.9) / (1.1 - 0.9))
        upper_h = np.minimum(0.4 * opening, 0.14 * width) * across
        teeth_a = clip01((upper + upper_h - ys) / edge + 0.5) * (upper_h > 0.5)
        teeth_a *= clip01((0.85 - adx) / 0.25)
        rel = clip01(below / np.maximum(upper_h, 1.0))
        tone = (1.0 - 0.55 * dx * dx) * self._tooth_gaps(dx) * (0.82 + 0.18 * np.sqrt(rel))
        lower_h = np.minimum(0.12 * opening, 0.05 * width) * across * (opening > 0.2 * width)
        lower_a = clip01((ys - (lower - lower_h)) / edge + 0.5) * (lower_h > 0.5)
        lower_a *= 0.8 * (ys <= lower + edge) * clip01((0.6 - adx) / 0.2)
        keep = (1.0 - teeth_a) * (1.0 - lower_a)  # what the teeth leave of the cavity
        teeth = (teeth_a * (1.0 - lower_a) + 0.6 * lower_a) * tone
        weights = cv2.merge([(cavity * keep).astype(np.float32), (tongue * keep).astype(np.float32),
                             teeth.astype(np.float32)])
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
        """Lay the target's own mouth interior over `layer` (the box from x0, y0) in place:
        scaled across with the mouth's width about the upper-lip centre, and fitted per column
        between the fused inner lips (`band_rows`, the interior's `bands`); where it parts, the
        painted cavity in `layer` shows."""
        inside = self._interior
        h, w = layer.shape[:2]
        sx = width / max(inside.width, 1.0)
        xs = np.arange(x0, x0 + w, dtype=np.float32)
        src_x = inside.lip[0] + (xs - xy[UPPER_LIP_CENTRE, 0]) / sx  # target crop columns
        up_f = lip_curve(xy, UPPER_INNER, xs)
        lo_f = lip_curve(xy, LOWER_INNER, xs)
        up_t = np.interp(src_x, *inside.upper).astype(np.float32)
        lo_t = np.interp(src_x, *inside.lower).astype(np.float32)
        ys = np.arange(y0, y0 + h, dtype=np.float32)[:, None]
        map_y = band_rows(ys, up_f, lo_f, up_t, lo_t, inside.bands) - inside.origin[1]
        map_x = np.broadcast_to(src_x - inside.origin[0], map_y.shape)
        moved = cv2.remap(inside.patch, np.ascontiguousarray(map_x, dtype=np.float32), map_y,
                          cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if inside.parts:  # where it parts, stretched from one row, the cavity shows (1 px soft)
            gap_t, d = lo_t - up_t, ys - up_f
            gone = clip01(np.minimum(d - inside.bands[0] * gap_t,
                                     lo_f - inside.bands[1] * gap_t - ys) / self.unit + 0.5)
            moved *= (1.0 - gone * (lo_f - up_f > gap_t))[..., None]
        layer *= 1.0 - moved[..., 3:]  # premultiplied: layer = (1 - a) layer + a rgb
        layer += moved[..., :3]
