"""Irises that look where the fused landmarks say, inside eye openings of any height.

A warp moves an iris only as much as the skin around it, and stretches or squashes it with the
lids. `IrisPainter` instead paints, inside each fused eye opening:

- the target's eyeball without its iris (the "sclera plate", made once: the iris disc filled
  with the colour of the bright half of the eye's visible white), fitted column by column
  between the fused lids, so a wide-open eye shows more white and a closing one less (the
  rows under each lid keep their own scale: `plate_rows`);
- the target's own iris, at its own size (times the eye's width change), centred on the fused
  iris centre (landmark 468 / 473), completed once where the target's lids hid part of it (the
  hidden part is filled with the visible iris's colour at the same distance from the centre,
  taken from its sides);
- a soft shadow under the upper lid;
- in an eye opened wider than the target's, the picture's own lash line drawn again above the
  raised lid, as thick as it is in the picture,

through the fused opening's anti-aliased polygon: the lids cover whatever of the iris lies
outside the opening, so looking up or down the lid hides the right part, and a closed eye
(no opening) paints nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from reenact.landmarks.head_pose import EYE_RINGS, IRIS_CENTRES, LOWER_LIDS, UPPER_LIDS
from reenact.landmarks.regions import REGIONS

_IRIS_RINGS = (REGIONS["right_iris"][1:], REGIONS["left_iris"][1:])
_SHIFT = 4
Layer = tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]


def _fill(mask: np.ndarray, poly: np.ndarray, origin) -> None:
    pts = np.round((np.asarray(poly) - origin) * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=_SHIFT)


def _lid_curve(xy: np.ndarray, index: np.ndarray, corners: tuple[int, int], xs: np.ndarray):
    """y of a lid (corner, 7 points, corner) at columns xs, linear between points."""
    pts = np.concatenate([xy[[corners[0]], :2], xy[index, :2], xy[[corners[1]], :2]])
    order = np.argsort(pts[:, 0])
    return np.interp(xs, pts[order, 0], pts[order, 1]).astype(np.float32)


def _lash(rgb: np.ndarray, points: np.ndarray, most: float) -> np.ndarray:
    """(K,) px: how far up from each (K,2) point the picture's dark band (lash line) reaches,
    within `most` px; a sample is in the band when its colour is more than a fifth of the skin's
    norm off the skin (the median of the outer half of the samples)."""
    steps = np.arange(0.0, most, 0.5, dtype=np.float32)
    out = np.zeros(len(points), np.float32)
    for k, (x, y) in enumerate(points):
        ij = np.clip(
            np.round(np.stack([np.full_like(steps, x), y - steps], 1)).astype(int),
            0,
            rgb.shape[0] - 1,
        )
        samples = rgb[ij[:, 1], ij[:, 0]]
        skin = np.median(samples[len(steps) // 2 :], axis=0)
        off = np.linalg.norm(samples - skin, axis=1) > 0.2 * np.linalg.norm(skin)
        if off.any():
            first = int(np.argmax(off))
            rest = off[first:]
            out[k] = steps[first + (int(np.argmin(rest)) if not rest.all() else len(rest) - 1)]
    return out


# shares of the target's lid gap kept at their own scale under the upper and over the lower lid
# when the fused eye opens wider than the target's
LID_BANDS = (0.3, 0.2)


def plate_rows(
    ys: np.ndarray, up_f: np.ndarray, lo_f: np.ndarray, up_t: np.ndarray, lo_t: np.ndarray
) -> np.ndarray:
    """The plate row (target crop y) each fused row ys (h,1) samples, per column: (h,w) float32.

    up_f, lo_f: the fused lids' y per column (w,); up_t, lo_t: the target's at the same columns.
    An eye no wider open than the target's squashes the plate between the lids. A wider one keeps
    the plate's rows under each lid at their own scale (`LID_BANDS` of the target's gap: the
    shadow and lash line under the upper lid, the waterline over the lower one) and stretches
    only the white between them: stretched whole, the upper lid's shadow became a grey band that
    looks like lid skin, not eyeball.
    """
    gap_t = np.maximum(lo_t - up_t, 0.5)
    gap_f = np.maximum(lo_f - up_f, 0.5)
    d = ys - up_f
    squash = up_t + d * (gap_t / gap_f)
    top, bottom = LID_BANDS[0] * gap_t, LID_BANDS[1] * gap_t
    middle = (d - top) * ((gap_t - top - bottom) / np.maximum(gap_f - top - bottom, 0.5))
    wide = np.where(
        d < top, up_t + d, np.where(d > gap_f - bottom, lo_t - (gap_f - d), up_t + top + middle)
    )
    return np.where(gap_f > gap_t, wide, squash).astype(np.float32)


def bright_sclera(white: np.ndarray) -> np.ndarray:
    """(n,3) float32 pixels of an eye's visible white -> (3,) its bright half's mean colour.

    In a small or shadowed eye much of the visible white lies under the lid's shadow and the
    lashes; the median of all of it is a grey that, painted where the iris was or above it in a
    wider-open eye, reads as lid skin, not eyeball."""
    if len(white) < 4:
        return np.array([225.0, 220.0, 215.0], np.float32)
    luma = white @ np.float32([0.299, 0.587, 0.114])
    return white[luma >= np.median(luma)].mean(axis=0).astype(np.float32)


def _reach(luma, opening, dist, radius, outer):
    """Where the picture's iris ends: the first 1-px ring past `outer` (up to half a radius
    out) three quarters of the way from the iris's last 2 px to the brightest such ring; `outer`
    where no ring is 20 grey levels brighter than the iris."""

    def mean(a, b):
        sel = opening & (dist >= a) & (dist < b)
        return luma[sel].mean() if np.count_nonzero(sel) >= 3 else np.nan

    iris = mean(radius - 2.0, radius)
    steps = np.arange(0.0, 0.5 * radius, 1.0)
    rings = np.array([mean(outer + k, outer + k + 1.0) for k in steps])
    if np.isnan(iris) or np.isnan(rings).all() or np.nanmax(rings) - iris < 20.0:
        return outer
    first = np.argmax(rings >= iris + 0.75 * (np.nanmax(rings) - iris))
    return outer + float(steps[first])


@dataclass(frozen=True)
class _Eye:
    """One target eye, cut out once: the sclera plate and the completed iris.

    origin: (2,) crop pixel of the plate's top-left; plate: (h,w,3) float32 RGB;
    iris: (n,n,3) float32 and iris_alpha (n,n) float32, centred on the iris centre;
    radius: iris radius in pixels; width: eye width (corner to corner) in pixels;
    lid_x, lash: (9,) the upper lid's points' x (sorted) and the lash line's reach above each.
    """

    origin: np.ndarray
    plate: np.ndarray
    wide_plate: np.ndarray
    iris: np.ndarray
    iris_alpha: np.ndarray
    radius: float
    width: float
    lid_x: np.ndarray
    lash: np.ndarray


class IrisPainter:
    """Paints eyeballs with irises where the fused landmarks put them.

    size: crop side; lengths scale with size / 256.
    """

    def __init__(self, *, size: int) -> None:
        self.size = int(size)
        self.unit = self.size / 256.0
        self._target_xy: np.ndarray | None = None
        self._eyes: list[_Eye | None] = [None, None]

    def set_target(self, target_crop: np.ndarray, target_xy: np.ndarray) -> None:
        """target_crop: (S,S,3) uint8; target_xy: (478,2|3) crop pixels of the neutral face."""
        t = np.asarray(target_xy, np.float32)[:, :2].copy()
        self._target_xy = t
        self._eyes = [self._cut_eye(target_crop, t, eye) for eye in (0, 1)]

    def _cut_eye(self, crop: np.ndarray, t: np.ndarray, eye: int) -> _Eye | None:
        ring = EYE_RINGS[eye]
        centre = t[IRIS_CENTRES[eye]]
        radius = float(np.linalg.norm(t[_IRIS_RINGS[eye]] - centre, axis=1).mean())
        width = float(np.hypot(*(t[ring[8]] - t[ring[0]])))
        if radius < 1.0 or width < 4.0:
            return None
        pad = int(math.ceil(radius)) + 3
        lo = np.floor(np.minimum(t[ring].min(axis=0), centre - radius)).astype(int) - pad
        hi = np.ceil(np.maximum(t[ring].max(axis=0), centre + radius)).astype(int) + pad + 1
        x0, y0 = np.maximum(lo, 0)
        x1, y1 = np.minimum(hi, self.size)
        box = crop[y0:y1, x0:x1].astype(np.float32)
        opening = np.zeros(box.shape[:2], np.uint8)
        _fill(opening, t[ring], (x0, y0))
        coverage = opening.astype(np.float32) / 255.0
        inside = opening > 127
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        dist = np.hypot(xs - centre[0], ys - centre[1])
        opening = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        luma = box @ np.float32([0.299, 0.587, 0.114])
        outer = _reach(luma, opening, dist, radius, radius + self.unit)  # disc, iris to its edge
        disc = dist <= outer
        white = inside & ~disc
        sclera = bright_sclera(box[white])
        known = opening & ~disc
        if np.count_nonzero(known) >= 4:
            inpainted = cv2.inpaint(
                box.astype(np.uint8), (~known).astype(np.uint8), 3.0 * self.unit, cv2.INPAINT_TELEA
            ).astype(np.float32)
        else:
            inpainted = np.broadcast_to(sclera, box.shape)
        glance, wide = box.copy(), box.copy()
        glance[disc] = inpainted[disc]
        wide[disc] = sclera
        glance, wide = (cv2.GaussianBlur(p, (0, 0), 0.6 * self.unit) for p in (glance, wide))
        keep = (disc * coverage)[..., None]  # the fill inside the opening only, not on the lid
        glance, wide = (box * (1.0 - keep) + p * keep for p in (glance, wide))
        iris, alpha = self._complete_iris(box, inside, centre - (x0, y0), outer)
        lid = np.concatenate([t[[ring[0]]], t[UPPER_LIDS[eye]], t[[ring[8]]]])
        lid = lid[np.argsort(lid[:, 0])]
        lash = _lash(cv2.blur(crop, (3, 3)).astype(np.float32), lid, 5.0 * self.unit)
        return _Eye(
            np.array([x0, y0], np.float32),
            glance,
            wide,
            iris,
            alpha,
            radius,
            width,
            lid[:, 0].copy(),
            lash,
        )

    @staticmethod
    def _complete_iris(box, inside, centre, radius):
        """The iris as an (n,n,3) patch centred on the iris, hidden parts filled with the mean of
        the visible ones in the same half-pixel ring on its sides (within 45 degrees of level;
        else anywhere in the ring; else the visible iris's mean); alpha: the anti-aliased disc."""
        half = int(math.ceil(radius)) + 1
        n = 2 * half + 1
        m = np.float32([[1, 0, centre[0] - half], [0, 1, centre[1] - half]])
        inv = cv2.invertAffineTransform(m)
        patch = cv2.warpAffine(
            box, inv, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        seen = cv2.warpAffine(inside.astype(np.float32), inv, (n, n), flags=cv2.INTER_LINEAR) > 0.99
        ys, xs = np.mgrid[0:n, 0:n].astype(np.float32) - half
        dist = np.hypot(xs, ys)
        disc = dist <= radius
        visible = disc & seen
        mean = patch[visible].mean(axis=0) if visible.any() else np.float32([70, 55, 45])
        hidden = disc & ~seen
        band = (dist * 2.0).astype(int)
        level = visible & (np.abs(ys) <= np.abs(xs))
        for b in set(band[hidden].tolist()):
            ring = band == b
            for source in (ring & level, ring & visible):
                if source.any():
                    patch[hidden & ring] = patch[source].mean(axis=0)
                    break
            else:
                patch[hidden & ring] = mean
        alpha = np.clip(radius + 0.5 - dist, 0.0, 1.0).astype(np.float32)
        return patch, alpha

    def layers(self, fused_xy: np.ndarray) -> list[Layer]:
        """Per open fused eye: (box (x0,y0,x1,y1), eyeball (h,w,3) uint8, alpha (h,w) float32)."""
        if self._target_xy is None:
            return []
        xy = np.asarray(fused_xy, np.float32)[:, :2]
        found = []
        for eye in (0, 1):
            if self._eyes[eye] is not None:
                layer = self._eye_layer(xy, eye)
                if layer is not None:
                    found.append(layer)
        return found

    def paint(self, image: np.ndarray, fused_xy: np.ndarray) -> None:
        """Paint into `image` (S,S,3) uint8 in place; fused_xy: (478,2|3) crop pixels."""
        for (x0, y0, x1, y1), layer, alpha in self.layers(fused_xy):
            roi = image[y0:y1, x0:x1]
            roi[...] = cv2.blendLinear(layer, roi, alpha, 1.0 - alpha)

    def _eye_layer(self, xy: np.ndarray, eye: int) -> Layer | None:
        cut, t, ring = self._eyes[eye], self._target_xy, EYE_RINGS[eye]
        poly = xy[ring]
        gap = float(np.clip(xy[LOWER_LIDS[eye], 1] - xy[UPPER_LIDS[eye], 1], 0, None).max())
        if gap < 0.75 * self.unit:
            return None  # closed: the lids show
        opened = (
            xy[LOWER_LIDS[eye], 1] - xy[UPPER_LIDS[eye], 1]
            > t[LOWER_LIDS[eye], 1] - t[UPPER_LIDS[eye], 1]
        ).any()
        pad = 1 + (int(math.ceil(6.0 * self.unit)) if opened else 0)
        x0, y0 = np.maximum(np.floor(poly.min(axis=0)).astype(int) - pad, 0)
        x1, y1 = np.minimum(np.ceil(poly.max(axis=0)).astype(int) + 2, self.size)
        if x1 - x0 < 3 or y1 - y0 < 2:
            return None
        corners = (ring[0], ring[8])
        width = float(np.hypot(*(xy[ring[8]] - xy[ring[0]])))
        shift = 0.5 * (xy[ring[0]] + xy[ring[8]] - t[ring[0]] - t[ring[8]])
        xs = np.arange(x0, x1, dtype=np.float32)
        src_x = xs - shift[0]
        up_f = _lid_curve(xy, UPPER_LIDS[eye], corners, xs)
        lo_f = _lid_curve(xy, LOWER_LIDS[eye], corners, xs)
        up_t = _lid_curve(t, UPPER_LIDS[eye], corners, src_x)
        lo_t = _lid_curve(t, LOWER_LIDS[eye], corners, src_x)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        map_y = plate_rows(ys, up_f, lo_f, up_t, lo_t) - cut.origin[1]
        map_x = np.broadcast_to(src_x - cut.origin[0], map_y.shape)
        layer = cv2.remap(
            cut.plate,
            np.ascontiguousarray(map_x, dtype=np.float32),
            map_y.astype(np.float32),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        gap_t = np.maximum(lo_t - up_t, 0.5)
        wider = np.clip((lo_f - up_f - gap_t) / (0.3 * gap_t), 0.0, 1.0)
        if wider.any():
            wide = cv2.remap(
                cut.wide_plate,
                np.ascontiguousarray(map_x, dtype=np.float32),
                map_y.astype(np.float32),
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
            layer = layer + (wide - layer) * wider[:, None]
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        _fill(mask, poly, (x0, y0))
        alpha = mask.astype(np.float32) / 255.0
        over_lid = None
        if wider.any():  # the lash line again, above the raised lid
            fade = self.unit
            top = up_f - wider * (np.interp(src_x, cut.lid_x, cut.lash) + fade)
            lash = np.clip((ys - top) / fade, 0.0, 1.0) * (wider > 0) * (ys < up_f + 1.0)
            alpha = np.maximum(alpha, lash)
            over_lid = lash * np.clip(up_f - ys, 0.0, 1.0)
        on_iris = self._put_iris(
            layer, cut, xy[IRIS_CENTRES[eye]] - (x0, y0), width / cut.width, over_lid
        )
        shade = np.clip((ys - up_f) / (2.5 * self.unit), 0.0, 1.0)[..., None]
        layer *= 1.0 - on_iris * 0.28 * (1.0 - shade)
        return (
            (int(x0), int(y0), int(x1), int(y1)),
            cv2.convertScaleAbs(layer),
            alpha.astype(np.float32),
        )

    @staticmethod
    def _put_iris(
        layer: np.ndarray,
        cut: _Eye,
        centre: np.ndarray,
        scale: float,
        over_lid: np.ndarray | None = None,
    ) -> np.ndarray:
        """Blend the iris patch, scaled by `scale` about its centre, at `centre` (box pixels),
        none of it on the redrawn lash line (`over_lid`); returns the iris's (h,w,1) coverage."""
        half = (cut.iris.shape[0] - 1) / 2.0
        m = np.float32([[scale, 0, centre[0] - scale * half], [0, scale, centre[1] - scale * half]])
        h, w = layer.shape[:2]
        iris = cv2.warpAffine(
            cut.iris, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        alpha = cv2.warpAffine(cut.iris_alpha, m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
        if over_lid is not None:
            alpha = alpha * (1.0 - over_lid[..., None])
        layer += alpha * (iris - layer)
        return alpha
