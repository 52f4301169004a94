"""Irises that look where the fused landmarks say, inside eye openings of any height.

A warp moves an iris only as much as the skin around it, and stretches or squashes it with the
lids. `IrisPainter` instead paints, inside each fused eye opening:

- the target's eyeball without its iris (the "sclera plate", made once: the iris disc
  continued from the eye's visible white around it, `fill_from_white`), fitted column by column
  between the fused lids, so a wide-open eye shows more white and a closing one less (the
  rows under each lid keep their own scale: `plate_rows`); in the columns opened wider than the
  target's, the disc is the colour of the bright half of the visible white instead (the "wide
  plate", `bright_sclera`);
- the target's own iris, at its own size (times the eye's width change), centred on the fused
  iris centre (landmark 468 / 473), completed once where the target's lids hid part of it (each
  hidden pixel the colour of the visible iris at its distance from the centre, on its sides:
  `complete_iris`), out to the edge of the plate's filled disc: as far as the picture's iris
  visibly reaches (`iris_reach`), at least `IRIS_RIM` past the tracked radius, so the dark
  limbal ring moves with it;
- the upper lid's soft shadow on the iris (the plate keeps the target's own shadow under the
  lid, its rows there at their own scale);
- in an eye opened wider than the target's, the white it uncovers drawn as lit as a raised lid
  leaves it (`open_gain`): at rest the visible white of a deep-set or shadowed eye lies in the
  lid's shadow, and stretched over a widening it drew a grey smudge, not an eyeball;
- in an eye opened wider than the target's, the picture's own lash line again just above the
  raised lid (`_lash_band`), which the opening painted from the fused lid down would cover,

through the fused opening's anti-aliased polygon: the lids cover whatever of the iris lies
outside the opening, so looking up or down the lid hides the right part, and a closed eye
(no opening) paints nothing.

At rest (the target's own landmarks) the painted eye stays close to the picture's. Before
stop 65 the iris was drawn to its tracked radius inside a plate filled a pixel further, which
left a pale ring of sclera colour around every iris (on a dark-eyed target, grey bars beside
the pupil), and the lid's shadow was laid over the plate's own; the ring's contrast also made
the re-tracked gaze read more of the moved iris than was drawn. `reenact eval -c eval`'s
figures, before and after, are in docs/experiments/2026-11-27-readme-eyes-and-head-motion.md.

A glance uncovers part of the disc. Until stop 66 the disc was filled with one colour, the bright
half of the visible white, and the iris drawn a pixel past its tracked radius: on a target whose
iris reaches further than MediaPipe's ring (a large or cartoon iris) the rest of it stayed in the
plate as a dark arc, and on any target the single colour left a crescent with an edge where the
iris had been: pale on a dark-eyed dog (fur colour, the "white" at the lid's edge), paler than
the white beside it on most people; see `tests/unit/test_glance.py`. A widening still shows the
bright-half white above and below the iris (`tests/unit/test_wide_eyes.py`): wide-eyed
expression stills are lit there.

Until stop 67 a widening had no lid edge and a pale arc across the iris's top. The plate's disc
was filled over the lid where the lid hides the iris; the warp's lash line, lagging the raised lid
landmarks, was covered by the opening painted from them; and the iris's hidden top was completed
from the point opposite the centre (the waterline and lower lid): a pale arc the face mesh read
as the lid. Now the fill stays inside the opening, the lash line is drawn again above a raised
lid, and the hidden iris is completed from its sides. Upper lids raised 0.2 eye widths, 28
portraits (warp): the 4 px above the lid 50.0 -> 25.9 grey levels off the picture's own (raised
0.1: 33.0 -> 22.8); the bared iris's top edge 17.9 -> 6.6 off its sides; see
`tests/unit/test_widened_lids.py`. At rest the eye boxes come closer to the picture (SSIM 0.959
-> 0.967, 56 eyes): the disc's fill no longer shows along the lids.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from reenact.landmarks.head_pose import EYE_RINGS, IRIS_CENTRES, LOWER_LIDS, UPPER_LIDS
from reenact.render.corrections.base import Box, Correction, Layer
from reenact.render.eyeball import LASH_MOST, LIDS, OPEN_WHITE, TargetEye, cut_eye, lid_points
from reenact.render.paint import band_rows, clip01, fill_aa, pad_box, soft_rgb


def _lid_curve(xy: np.ndarray, lid: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """y of a lid (one of `LIDS`) at columns xs, linear between points: float32 like xs."""
    return np.interp(xs, *lid_points(xy, lid)).astype(np.float32)


# the white a widening uncovers is brightened (`open_gain`) fully once a column opens WIDE_FULL
# wider than the target's
WIDE_FULL = 0.3

# the upper lid's shadow on the iris: this much darker at the lid, none SHADOW_DEPTH px below it
SHADOW, SHADOW_DEPTH = 0.28, 2.5

# shares of the target's lid gap kept at their own scale under the upper and over the lower lid
# when the fused eye opens wider than the target's
LID_BANDS = (0.3, 0.2)
# px at 256 over which the lash line a widening draws again fades into the warp's lid skin
LASH_EDGE = 1.0


def plate_rows(ys: np.ndarray, up_f: np.ndarray, lo_f: np.ndarray, up_t: np.ndarray,
               lo_t: np.ndarray) -> np.ndarray:
    """The plate row (target crop y) each fused row ys (h,1) samples, per column: (h,w) float32
    (`reenact.render.paint.band_rows` with `LID_BANDS`).

    up_f, lo_f: the fused lids' y per column (w,); up_t, lo_t: the target's at the same columns.
    An eye no wider open than the target's squashes the plate between the lids. A wider one keeps
    the plate's rows under each lid at their own scale (the shadow and lash line under the upper
    lid, the waterline over the lower one) and stretches only the white between them: stretched
    whole, the upper lid's shadow became a grey band that looks like lid skin, not eyeball.
    """
    return band_rows(ys, up_f, lo_f, up_t, lo_t, LID_BANDS)


Disc = tuple[np.ndarray, float]  # (centre (2,), radius) in crop pixels


def disc_cover(centre: np.ndarray, radius: float, rows: tuple[int, int],
               cols: tuple[int, int]) -> np.ndarray:
    """(h,w) float32 in [0,1]: how much of each pixel of a box's rows x cols lies inside the disc
    at `centre` (2,) (box pixels) of `radius`, anti-aliased over a pixel."""
    ys = np.arange(*rows, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(*cols, dtype=np.float32) + 0.5
    return clip01(radius + 0.5 - np.hypot(xs - centre[0], ys - centre[1]))


def disc_part(box: Box, disc: Disc | None) -> tuple[int, int, int, int] | None:
    """The rows r0:r1 and columns c0:c1 of `box` (x0, y0, x1, y1) where a disc (crop pixels)
    covers anything (`disc_cover`), a pixel wider; the whole box for None, None for nothing."""
    x0, y0, x1, y1 = box
    if disc is None:
        return 0, y1 - y0, 0, x1 - x0
    cx, cy, r = float(disc[0][0]) - x0, float(disc[0][1]) - y0, disc[1]
    r0, r1 = max(math.floor(cy - r) - 1, 0), min(math.ceil(cy + r) + 1, y1 - y0)
    c0, c1 = max(math.floor(cx - r) - 1, 0), min(math.ceil(cx + r) + 1, x1 - x0)
    return (r0, r1, c0, c1) if r0 < r1 and c0 < c1 else None


class IrisPainter(Correction):
    """Paints eyeballs with irises where the fused landmarks put them.

    size: crop side; lengths scale with size / 256. open_white: `OPEN_WHITE` (0: a widening
    stretches the white as it is).
    """

    name = "irises"
    paints = True

    def __init__(self, *, size: int, open_white: float = OPEN_WHITE) -> None:
        self.size = int(size)
        self.open_white = float(open_white)
        self.unit = self.size / 256.0
        self._target_xy: np.ndarray | None = None
        self._eyes: list[TargetEye | None] = [None, None]

    def prepare(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        """target_crop: (S,S,3) uint8; target_landmarks: (478,2|3) crop pixels of the neutral
        face."""
        t = np.asarray(target_landmarks, np.float32)[:, :2].copy()
        self._target_xy = t
        soft = soft_rgb(target_crop)
        self._eyes = [cut_eye(target_crop, t, eye, open_white=self.open_white, soft=soft)
                      for eye in (0, 1)]

    def overlay(self, fused_xy: np.ndarray) -> list[Layer]:
        """Per open fused eye, its eyeball as a `Layer`; fused_xy: (478,2|3) crop pixels."""
        return self.iris_discs(fused_xy, (None, None))

    def iris_discs(self, fused_xy: np.ndarray, discs: tuple[Disc | None, Disc | None]
                   ) -> list[Layer]:
        """`overlay`'s layers cut to a disc per eye: the iris a learned eye draws over its own
        (`reenact.render.learned_eyes`). discs[eye]: (centre (2,), radius) in crop pixels, None
        for the whole layer. Each layer is built only inside its disc's box, its alpha times
        `disc_cover`: the whole layer's pixels there, byte for byte (every step but the lid
        polygon's mask and the iris's warp is per pixel, and those two are drawn from the eye
        box's corner), at a fraction of its cost."""
        if self._target_xy is None:
            return []
        xy = np.asarray(fused_xy, np.float32)[:, :2]
        found = []
        for eye in (0, 1):
            if self._eyes[eye] is not None:
                layer = self._eye_layer(xy, eye, discs[eye])
                if layer is not None:
                    found.append(layer)
        return found

    def _eye_layer(self, xy: np.ndarray, eye: int, disc: Disc | None) -> Layer | None:
        cut, t, ring = self._eyes[eye], self._target_xy, EYE_RINGS[eye]
        poly = xy[ring]
        gap = max(float((xy[LOWER_LIDS[eye], 1] - xy[UPPER_LIDS[eye], 1]).max()), 0.0)
        if gap < 0.75 * self.unit:
            return None  # closed: the lids show
        # room above the lid for the lash line a widening draws again
        above = int(math.ceil((LASH_MOST + LASH_EDGE) * self.unit)) if self._wider(xy, eye) else 0
        x0, y0, x1, y1 = pad_box(poly, 1 + above, 2, self.size)
        part = disc_part((x0, y0, x1, y1), disc)  # the part of the box this layer keeps
        if x1 - x0 < 3 or y1 - y0 < 2 or part is None:
            return None
        r0, r1, c0, c1 = part
        width = float(np.hypot(*(xy[ring[8]] - xy[ring[0]])))
        shift = 0.5 * (xy[ring[0]] + xy[ring[8]] - t[ring[0]] - t[ring[8]])
        xs = np.arange(x0 + c0, x0 + c1, dtype=np.float32)
        src_x = xs - shift[0]
        up_f = _lid_curve(xy, LIDS[eye][0], xs)
        lo_f = _lid_curve(xy, LIDS[eye][1], xs)
        up_t = np.interp(src_x, *cut.upper).astype(np.float32)
        lo_t = np.interp(src_x, *cut.lower).astype(np.float32)
        ys = np.arange(y0 + r0, y0 + r1, dtype=np.float32)[:, None]
        map_y = plate_rows(ys, up_f, lo_f, up_t, lo_t) - cut.origin[1]
        map_x = np.empty_like(map_y)
        map_x[:] = src_x - cut.origin[0]
        layer = cv2.remap(cut.plate, map_x, map_y, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        fill_aa(mask, poly, (x0, y0))  # the whole box: a polygon clipped to a part differs
        alpha = mask[r0:r1, c0:c1].astype(np.float32) / 255.0
        lash = None
        widening = self._widening(ys, up_f, lo_f, up_t, lo_t)
        if widening is not None:
            wider, uncovered = widening
            wide = cv2.remap(cut.wide_plate, map_x, map_y, cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
            layer += (wide - layer) * wider[:, None]
            if cut.open_gain > 1.0:
                layer *= (1.0 + (cut.open_gain - 1.0) * uncovered)[..., None]
            lash = self._lash_band(ys, up_f, wider, np.interp(src_x, cut.upper[0], cut.lash))
            alpha = np.maximum(alpha, lash)
        iris = self._put_iris(layer, cut, xy[IRIS_CENTRES[eye]] - (x0, y0), width / cut.width,
                              None if lash is None else lash * clip01(up_f - ys), (r0, c0),
                              x1 - x0)
        shade = clip01((ys - up_f) / (SHADOW_DEPTH * self.unit))
        layer *= 1.0 - SHADOW * (1.0 - shade)[..., None] * iris
        if disc is not None:
            alpha = alpha * disc_cover(disc[0] - (x0, y0), disc[1], (r0, r1), (c0, c1))
        return Layer((x0 + c0, y0 + r0, x0 + c1, y0 + r1), cv2.convertScaleAbs(layer), alpha)

    def _wider(self, xy: np.ndarray, eye: int) -> bool:
        """Whether any of the fused eye's lid gaps is wider than the target's."""
        t, upper, lower = self._target_xy, UPPER_LIDS[eye], LOWER_LIDS[eye]
        return bool(((xy[lower, 1] - xy[upper, 1]) > (t[lower, 1] - t[upper, 1])).any())

    def _lash_band(self, ys: np.ndarray, up_f: np.ndarray, wider: np.ndarray,
                   lash: np.ndarray) -> np.ndarray:
        """(h,w) float32 in [0,1]: the band above the fused upper lid where a widening draws the
        target's own lash line again (the plate's rows above its lid, at their own scale).

        The warp moves the lash line with the lid, but spread over its coarse field it lags the
        lid landmarks (2 to 3 px at 256 for a lid raised 6 px), so the opening painted from the
        fused lid down covered it: a widened eye showed lid skin straight onto a pale cap, with
        no lid edge. Per column: `lash` (w,), the picture's lash line there, times `wider`, plus
        LASH_EDGE over which the band fades out upwards."""
        edge = LASH_EDGE * self.unit
        top = up_f - wider * (lash + edge)
        return (clip01((ys - top) / edge) * (wider > 0) * (ys < up_f + 1.0)).astype(np.float32)

    def _widening(self, ys: np.ndarray, up_f: np.ndarray, lo_f: np.ndarray, up_t: np.ndarray,
                  lo_t: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The columns opened wider than the target's, (w,) float32 in [0,1], fully from
        WIDE_FULL wider (drawn from the wide plate), and the white the widening uncovers in them,
        (h,w) float32 in [0,1]: their stretched middle rows (`plate_rows`: between the bands kept
        under and over the lids), brightened by up to the eye's `open_gain`. None where no column
        is wider. ys (h,1), the rest (w,) as `plate_rows` takes them."""
        gap_t = np.maximum(lo_t - up_t, 0.5)
        wider = clip01((lo_f - up_f - gap_t) / (WIDE_FULL * gap_t))
        if not wider.any():
            return None
        edge = 1.5 * self.unit
        below_top = ys - up_f - LID_BANDS[0] * gap_t
        above_bottom = lo_f - LID_BANDS[1] * gap_t - ys
        middle = clip01(below_top / edge) * clip01(above_bottom / edge)
        return wider.astype(np.float32), (wider * middle).astype(np.float32)

    @staticmethod
    def _put_iris(layer: np.ndarray, cut: TargetEye, centre: np.ndarray, scale: float,
                  hidden: np.ndarray | None = None, at: tuple[int, int] = (0, 0),
                  box_w: int = 0) -> np.ndarray:
        """Blend the iris patch, scaled by `scale` about its centre, at `centre` (box pixels),
        over `layer`, the part of the box from row, column `at` (of a box box_w wide; 0: the
        layer's); none of it where `hidden` (h,w) is 1 (the lash line drawn again); returns its
        coverage, (h,w,1) float32 in [0,1]."""
        half = (cut.iris.shape[0] - 1) / 2.0
        m = np.float32([[scale, 0, centre[0] - scale * half],
                        [0, scale, centre[1] - scale * half]])
        (h, w), (r0, c0) = layer.shape[:2], at
        # from the box's corner in rows as wide as the box's: another origin rounds the sampling
        # anew, another width moves pixels between OpenCV's vector loop and its scalar tail
        iris = cv2.warpAffine(cut.iris, m, (box_w or w, r0 + h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)[r0:, c0 : c0 + w]
        if hidden is not None:
            iris[..., 3] *= 1.0 - hidden
        step = iris[..., :3] - layer  # layer += alpha (iris - layer), in place
        step *= iris[..., 3:]
        layer += step
        return iris[..., 3:]
