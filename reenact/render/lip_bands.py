"""The lips drawn band by band: a mouth closing over a gaping picture without folds.

The warp's mesh field (`reenact.render.field`) moves every pixel with the landmarks around it.
Where a portrait's mouth gapes (a yawn) and the face drawn closes it (its estimated neutral,
`reenact.fusion.target_neutral`, or the actor's closed mouth), the lower lip rises past points of
the picture that lie beside it near the corners: the mesh's triangles there turn over and draw
the cavity's rim as dark zig-zag strokes across the lips, which the eval's re-tracker reads as
the lips' gap (stop 80: a further closing read back at 0.18-0.64 of what was drawn).

`LipBands` replaces the warp's map over the mouth by one made column by column: across the
mouth, each column of the face drawn is split by its four lip contours (outer upper, inner upper,
inner lower, outer lower lip; the inner ones meet at the mouth corners) into the upper lip, the
gap between the lips and the lower lip, and each part reads the same part of the picture's column
at the same place across the mouth (the corners, inner corners and lip centres kept in line),
stretched or squeezed to its height there. A closing squeezes the picture's cavity to the gap
drawn (none: the lips meet) and keeps each lip whole, so nothing turns over. Above the upper lip
and below the lower one, half the lips' height (`MARGIN`) of the face drawn reads half the
lips' height of the picture's, fading into the mesh's map (`sources`' alpha), and sideways the
bands fade out beyond the outer corners (`SIDE`).

It is a correction's map override (`reenact.render.corrections`), as the eye keeper's are: the
map becomes map + alpha (source - map), with source = identity - shift, so the CUDA warp takes
it through the same planes (`reenact.render.corrections.apply.WarpExtras`).
"""

from __future__ import annotations

import math

import numpy as np

from reenact.ramps import smoothstep
from reenact.render.corrections.base import Correction, MapOverride
from reenact.render.field import face_box, identity_map
from reenact.render.mouth import (
    LEFT_CORNER,
    LOWER_INNER,
    OUTER_RING,
    RIGHT_CORNER,
    UPPER_INNER,
    UPPER_LIP_CENTRE,
    lip_curve,
)

# the four lip contours, each from the left mouth corner (61) to the right one (291), cut from the
# mouth filler's rings; the inner ones run on through the inner corners (78, 308) to the outer
# ones, where the lips meet
OUTER_LOWER = OUTER_RING[:11]  # 61, 146 ... 375, 291
OUTER_UPPER = np.concatenate([OUTER_RING[:1], OUTER_RING[19:9:-1]])  # 61, 185 ... 409, 291
INNER_UPPER = np.r_[OUTER_LOWER[0], UPPER_INNER, OUTER_LOWER[-1]]
INNER_LOWER = np.r_[OUTER_LOWER[0], LOWER_INNER, OUTER_LOWER[-1]]
LIP_POINTS = np.r_[OUTER_UPPER, OUTER_LOWER, UPPER_INNER, LOWER_INNER]  # every contour's points
# the points kept in line across the mouth: the corners, inner corners and the upper lip centre
ACROSS = [OUTER_LOWER[0], LEFT_CORNER, UPPER_LIP_CENTRE, RIGHT_CORNER, OUTER_LOWER[-1]]
# how far the map goes on above and below the lips (x the lips' height in that column, at least
# MIN_MARGIN px x size/256) and sideways beyond the corners (x the mouth's width)
MARGIN, MIN_MARGIN, SIDE = 0.5, 4.0, 0.125


def _knots(xy: np.ndarray, xs: np.ndarray, unit: float) -> np.ndarray:
    """(6, len(xs)) rows per column: the margin's top, the outer upper, inner upper, inner
    lower and outer lower lip, the margin's bottom (never crossing, top to bottom)."""
    ou = lip_curve(xy, OUTER_UPPER, xs)
    iu = np.maximum(lip_curve(xy, INNER_UPPER, xs), ou)
    il = np.maximum(lip_curve(xy, INNER_LOWER, xs), iu)
    ol = np.maximum(lip_curve(xy, OUTER_LOWER, xs), il)
    margin = np.maximum(MARGIN * (ol - ou), MIN_MARGIN * unit)
    return np.stack([ou - margin, ou, iu, il, ol, ol + margin])


def _interp_columns(ys: np.ndarray, knots: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per column j, the piecewise-linear map through (knots[:, j], values[:, j]) at rows ys:
    (len(ys), columns); linear beyond the end knots."""
    k = np.clip((ys[:, None, None] >= knots[None, 1:-1, :]).sum(axis=1), 0, len(knots) - 2)
    # knots[k, column] as flat indices: `take` gathers them for a fraction of fancy indexing
    at = k * knots.shape[1] + np.arange(knots.shape[1])
    after = at + knots.shape[1]  # knots[k + 1, column]
    y0, y1 = knots.take(at), knots.take(after)
    v0, v1 = values.take(at), values.take(after)
    t = (ys[:, None] - y0) / np.maximum(y1 - y0, 1e-6)
    return v0 + t * (v1 - v0)


class LipBands(Correction):
    """The mouth's map, band by band (module doc). size: crop side; lengths scale with
    size / 256."""

    name = "lip_bands"
    reshapes = True

    def __init__(self, *, size: int) -> None:
        self.size = int(size)
        self.unit = self.size / 256.0
        self._target_xy: np.ndarray | None = None
        # (S,S,2) float32 each pixel's own x, y, sliced per frame rather than made anew
        self._identity = identity_map(self.size)
        self._bounds: tuple[int, int, int, int] | None = None

    def prepare(self, target_crop: np.ndarray | None, target_landmarks: np.ndarray) -> None:
        """target_landmarks: (478,2|3) crop pixels of the picture's own face (what the warp
        reads); the bands stay inside the box the warp maps (`face_box`)."""
        self._target_xy = np.asarray(target_landmarks, np.float64)[:, :2].copy()
        self._bounds = face_box(np.asarray(target_landmarks, np.float32)[:, :2], self.size)

    def geometry(self, xy: np.ndarray) -> list[MapOverride]:
        """The bands as one map override (or none): shift = identity - source (`sources`),
        inside the warp's face box."""
        found = []
        for (x0, y0, x1, y1), alpha, source in self.sources(xy, self._bounds):
            found.append(
                MapOverride((x0, y0, x1, y1), alpha, self._identity[y0:y1, x0:x1] - source)
            )
        return found

    def sources(
        self,
        xy: np.ndarray,
        bounds: tuple[int, int, int, int] | None = None,
    ) -> list[tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]]:
        """Where the bands replace the warp: [] or [(box (x0,y0,x1,y1), alpha (h,w) float32,
        source (h,w,2) float32 picture pixel x, y)]; the map there becomes
        map + alpha (source - map). bounds: the box (x0,y0,x1,y1) the warp maps (its face
        box), which the override's is kept inside (None: the crop). [] when the mouth drawn is
        the picture's (nothing to do) or either mouth's corners are out of order (a face seen
        edge-on)."""
        pic = self._target_xy
        if pic is None:
            return []
        xy = np.asarray(xy, np.float64)[:, :2]
        fx, px = xy[ACROSS, 0], pic[ACROSS, 0]
        if not (np.all(np.diff(fx) > 0.5) and np.all(np.diff(px) > 0.5)):
            return []
        if np.abs(xy[LIP_POINTS] - pic[LIP_POINTS]).max() < 0.05:
            return []
        bx0, by0, bx1, by1 = (0, 0, self.size, self.size) if bounds is None else bounds
        width = fx[-1] - fx[0]
        side = SIDE * width
        x0 = max(math.floor(fx[0] - side), bx0)
        x1 = min(math.ceil(fx[-1] + side) + 1, bx1)
        if x1 - x0 < 2:
            return []
        xs = np.arange(x0, x1, dtype=np.float64)
        inside_x = np.clip(xs, fx[0], fx[-1])
        read_x = np.interp(inside_x, fx, px)  # the picture's same place across the mouth
        source_x = read_x + (xs - inside_x)  # the corners' offset beyond
        drawn = _knots(xy, inside_x, self.unit)
        read = _knots(pic, read_x, self.unit)
        y0 = max(math.floor(drawn[0].min()), by0)
        y1 = min(math.ceil(drawn[-1].max()) + 1, by1)
        if y1 - y0 < 2:
            return []
        ys = np.arange(y0, y1, dtype=np.float64)
        source_y = _interp_columns(ys, drawn, read)
        # 1 between the outer lips, fading to 0 over each margin and beyond the corners
        top = np.clip((ys[:, None] - drawn[0]) / np.maximum(drawn[1] - drawn[0], 1e-6), 0, 1)
        bottom = np.clip((drawn[5] - ys[:, None]) / np.maximum(drawn[5] - drawn[4], 1e-6), 0, 1)
        sideways = np.clip(
            np.minimum(xs - (fx[0] - side), fx[-1] + side - xs) / max(side, 1e-6), 0, 1
        )
        alpha = smoothstep(np.minimum(top, bottom) * sideways[None, :])
        source = np.stack([np.broadcast_to(source_x[None, :], source_y.shape), source_y], -1)
        return [((x0, y0, x1, y1), alpha.astype(np.float32), source.astype(np.float32))]
