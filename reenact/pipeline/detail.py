"""The target picture's fine detail, kept through the crop.

Every renderer draws an S x S crop (256 by default) that the compositor maps back into the frame.
Where the target's face spans more frame pixels than that (portrait photos: 1.2-3.5 x on the
shared portraits), what the crop cannot hold is lost: pores, lashes, freckles, hair strands, the
picture's grain; at any scale the two resamplings (frame -> crop -> frame) soften it, and every
sub-pixel move of the render softens the crop's own finest band again. Pasting the target's own
crop back keeps 0.04-0.74 of the picture's fine detail (Laplacian energy over the face) on the
shared portraits. `DetailLayer` puts it back by splitting the face in two bands:

- the render's band: the rendered crop blurred by SPLIT crop pixels, which no resampling
  softens; the expression, the shading and the colours are all there;
- the picture's band, all above it: per target H = F - paste(blur(crop(F))) over the paste's
  box; per frame H moved as the face moves (the field from the target's landmarks to the drawn
  ones, `render.field.MeshField`, the warp renderer's, mapped into frame pixels, `cv2.remap`).

The pasted render's band above SPLIT is replaced by the moved H under a weight: the paste's mask,
faded out over the drawn eyes with their lids and over the lips and the mouth's inside (where a
renderer paints what the picture does not hold: irises where the gaze goes, a lid closing,
teeth; and where the expression is read from), and over where the
picture's own eye openings and mouth's inside have moved to (an eye that closes would carry its
whites onto the lid). There the render is kept as it is.

With no fade, a render of the target's own landmarks gives the picture back exactly (to a grey
level), not its crop's blur.
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.landmarks.align import Alignment
from reenact.landmarks.regions import REGIONS
from reenact.render.field import NUM_MESH, face_field
from reenact.render.field_memo import moved_back

# field samples per side of the face box (the warp renderer's too). A grid of 32 smoothed a brow's
# raise over the forehead: brows raised 3 crop px, the detail drawn at them came from 0.78-0.84
# crop px off the picture's brow (a frame pixel or more on a large face); 64: 0.31-0.35, for
# 0.15 ms a frame
GRID = 64
ITERATIONS = 3  # Newton steps inverting the field
SPLIT = 1.0  # crop pixels: the Gaussian under which the render's band is kept
# the features a renderer paints anew or whose edges the expression is read from (the lids, the
# lips: left to the render, the picture's sharper edges moved by the field (then of grid 32) pulled
# them; `reenact eval -c eval`, raw expression gain warp / generator 0.812 / 0.831 with no layer,
# 0.798 / 0.821 with only the eye openings and the mouth's inside left out, 0.805 / 0.826 so),
# grown (x the distance between the eyes' outer corners, about 1.4 inter-ocular distances)
# before the fade; and the fade's width
HOLES = (("left_eye", 0.12), ("right_eye", 0.12), ("lips_outer", 0.04))
FADE = 0.08  # x the distance between the eyes' outer corners
# each frame's holes are drawn over the crop at about this side (crop side // WEIGHT_SIDE times
# coarser, at least 1): they are faded over 3.7 crop pixels (at 256) and then sampled into the
# box, so at half the 256 crop the weight stays within 0.07 box pixels of where it is drawn at
# full size and the pasted face within 2 grey levels (tests/unit/test_detail.py), for 0.5-1.6 ms
# less a frame at 256 and 5-8 ms at 512 on a 2-core CPU
WEIGHT_SIDE = 128
AA_SPREAD = 0.7  # pixels: how much larger an anti-aliased OpenCV polygon fills than its outline
_DISC = np.stack([np.cos(np.linspace(0, 2 * np.pi, 24, endpoint=False)),
                  np.sin(np.linspace(0, 2 * np.pi, 24, endpoint=False))], 1).astype(np.float32)


def low_band(crop: np.ndarray) -> np.ndarray:
    """A crop's band that resampling keeps: blurred by SPLIT crop pixels (same dtype)."""
    return cv2.GaussianBlur(crop, (0, 0), SPLIT, borderType=cv2.BORDER_REFLECT)


class DetailLayer:
    """One target's fine detail, moved with the drawn face into a pasted frame box.

    frame: (H,W,3) uint8 the target picture; alignment: its face's frame <-> crop transform;
    landmarks_crop: (478,2|3) the target's landmarks in crop pixels; box: the paste's frame box
    (x0, y0, x1, y1); box_matrix: crop -> box pixels (2,3); mask_crop: (S,S) float32 the paste
    mask in crop pixels.

    Over the box, kept: `detail` (h,w,3) float32 the picture's band; `own` (h,w) float32 1 but
    over the picture's own eyes and mouth (the HOLES at its landmarks).
    """

    def __init__(self, *, frame: np.ndarray, alignment: Alignment, landmarks_crop: np.ndarray,
                 box: tuple[int, int, int, int], box_matrix: np.ndarray,
                 mask_crop: np.ndarray) -> None:
        size = self._size = int(alignment.size)
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        self.box = box
        self._box_matrix = np.asarray(box_matrix, np.float64)
        # (dx, dy) in crop pixels -> (dx, dy) in frame pixels: the crop -> frame scale and rotation
        self._linear = np.ascontiguousarray(alignment.inverse[:, :2], np.float32)
        self._target_xy = np.asarray(landmarks_crop, np.float32)[:, :2].copy()
        # the holes' scale: the distance between the eyes' outer corners
        self._span = float(np.hypot(*(self._target_xy[263] - self._target_xy[33]))) or 1.0
        low = low_band(alignment.crop_image(frame)).astype(np.float32)
        # the picture's band (h,w,3) and where its own eyes and mouth are not (h,w), apart: two
        # remaps of contiguous arrays cost less than one of four channels sliced apart after
        self.detail = frame[y0:y1, x0:x1] - self._to_box(low, cv2.BORDER_REPLICATE)
        own = self._keep_weight(self._target_xy, 1)
        self.own = self._to_box(own, cv2.BORDER_REPLICATE)
        self._field = face_field(np.asarray(landmarks_crop, np.float32), size, grid=GRID)
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self._grid = cv2.merge([gx, gy])  # (h,w,2) each box pixel's own place
        # the field and the weight are smooth at the crop's scale: worked out over the box at
        # 1/k of its resolution (k the crop -> frame scale, whole) and sampled up (bilinear, at
        # the same pixel centres, so exact for an affine map)
        k = max(1, int(np.hypot(*self._box_matrix[0, :2])))
        low = (-(-w // k), -(-h // k))  # (w, h) rounded up
        to_low = np.array([[1 / k, 0, 0.5 / k - 0.5], [0, 1 / k, 0.5 / k - 0.5], [0, 0, 1]])
        crop_to_low = to_low @ np.vstack([self._box_matrix, [0, 0, 1]])
        # the field's grid samples straight into the box at 1/k (bilinear, as the field is
        # linear between them; 0 beyond its box, as the field is)
        fx0, fy0, _fx1, _fy1 = self._field.roi
        sx, sy = (float(v) for v in self._field.to_grid_scale)
        grid_to_crop = np.array([[1 / sx, 0, fx0 + 0.5 / sx - 0.5],
                                 [0, 1 / sy, fy0 + 0.5 / sy - 0.5], [0, 0, 1]])
        self._grid_to_low = (crop_to_low @ grid_to_crop)[:2]
        # the weight: the holes at WEIGHT_SIDE a side (the crop's own side if smaller), smooth
        # at the crop's scale, sampled into the box at 1/k the same way
        q = max(1, size // WEIGHT_SIDE)
        self._q = q
        plane_to_crop = np.array([[q, 0, 0.5 * (q - 1)], [0, q, 0.5 * (q - 1)], [0, 0, 1]])
        self._plane_to_low = (crop_to_low @ plane_to_crop)[:2]
        self._allocate(w, h, low, k, mask_crop, crop_to_low)

    def _allocate(self, w: int, h: int, low: tuple[int, int], k: int, mask_crop: np.ndarray,
                  crop_to_low: np.ndarray) -> None:
        """The per-frame buffers over the box (w, h) and over it at 1/k (`low`, (w, h) rounded
        up), and the paste's mask there (`crop_to_low`: crop -> 1/k box pixels, 3x3)."""
        # per frame, preallocated: over the box at 1/k, the backward displacement (crop pixels,
        # then frame pixels) and the weight; over the box, the same sampled up, the moved detail
        self._back_low = np.empty((low[1], low[0], 2), np.float32)
        self._map_low = np.empty((low[1], low[0], 2), np.float32)
        self._weight_low = np.empty((low[1], low[0]), np.float32)
        # the paste's mask there, once (at the crop's own resolution: where there are no holes
        # the weight is the mask the render is pasted with, and the picture comes back whole)
        self._mask_low = cv2.warpAffine(np.asarray(mask_crop, np.float32), crop_to_low[:2], low,
                                        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        self._map_up = np.empty((low[1] * k, low[0] * k, 2), np.float32)
        self._weight_up = np.empty((low[1] * k, low[0] * k), np.float32)
        self._map = self._map_up[:h, :w]
        self._weight = self._weight_up[:h, :w]
        self._high_crop = np.empty((self._size, self._size, 3), np.float32)
        self._moved = np.empty((h, w, 3), np.float32)
        self._own_moved = np.empty((h, w), np.float32)
        self._high = np.empty((h, w, 3), np.float32)
        self._weight3 = np.empty((h, w, 3), np.float32)

    def _to_box(self, image: np.ndarray, border: int, dst: np.ndarray | None = None) -> np.ndarray:
        """A crop-pixel image mapped into the box as the paste maps the render (bilinear)."""
        x0, y0, x1, y1 = self.box
        return cv2.warpAffine(image, self._box_matrix, (x1 - x0, y1 - y0), dst=dst,
                              flags=cv2.INTER_LINEAR, borderMode=border)

    def _keep_weight(self, xy: np.ndarray, q: int) -> np.ndarray:
        """(s,s) float32 over the crop at 1/q (its pixel i at crop pixel q i + (q - 1) / 2, s =
        ceil(S / q)): 1 but over the HOLES (the eyes with their lids, the lips and the mouth's
        inside) at the (478,2) crop points `xy`: each the hull of its points grown by its share of
        the span (a disc swept round it: grown once, whatever its neighbours), drawn
        anti-aliased, then faded."""
        side = -(-self._size // q)
        keep = np.full((side, side), 255, np.uint8)
        at = (np.asarray(xy, np.float32)[:, :2] - 0.5 * (q - 1)) / q  # 1/q resolution
        for name, grow in HOLES:
            hull = cv2.convexHull(at[REGIONS[name]])[:, 0]
            radius = max(0.0, grow * self._span / q - AA_SPREAD)
            grown = cv2.convexHull((hull[:, None, :] + radius * _DISC[None]).reshape(-1, 2))
            cv2.fillConvexPoly(keep, np.round(grown * 16).astype(np.int32), 0,
                               lineType=cv2.LINE_AA, shift=4)
        sigma = max(0.5, FADE * self._span / 2.0 / q)
        return cv2.GaussianBlur(keep, (0, 0), sigma).astype(np.float32) / 255.0

    def moved(self, drawn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The picture's band moved to the drawn face, over the box: ((h,w,3) float32, (h,w)
        float32 its weight). drawn: (478,2|3) crop pixels. Buffers the next call overwrites."""
        drawn = np.asarray(drawn, np.float32)
        field_model = self._field
        disp = drawn[:NUM_MESH, :2] - self._target_xy[:NUM_MESH]
        depth = drawn[:NUM_MESH, 2] if drawn.shape[1] > 2 else None
        # the warp renderer's own inversion of this move when it drew it (`field_memo`)
        back = moved_back(field_model, disp, ITERATIONS, depth)
        # per box pixel at 1/k: the crop's backward displacement there, in frame pixels; the weight
        low_size = self._back_low.shape[1::-1]
        cv2.warpAffine(back, self._grid_to_low, low_size, dst=self._back_low,
                       flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        cv2.transform(self._back_low, self._linear, dst=self._map_low)
        cv2.warpAffine(self._keep_weight(drawn[:, :2], self._q),
                       self._plane_to_low, low_size, dst=self._weight_low,
                       flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        cv2.multiply(self._weight_low, self._mask_low, dst=self._weight_low)
        for low, up in ((self._map_low, self._map_up), (self._weight_low, self._weight_up)):
            cv2.resize(low, up.shape[1::-1], dst=up, interpolation=cv2.INTER_LINEAR)
        cv2.add(self._map, self._grid, dst=self._map)
        cv2.remap(self.detail, self._map, None, cv2.INTER_LINEAR, dst=self._moved,
                  borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        cv2.remap(self.own, self._map, None, cv2.INTER_LINEAR, dst=self._own_moved,
                  borderMode=cv2.BORDER_CONSTANT, borderValue=1)
        cv2.multiply(self._weight, self._own_moved, dst=self._weight)
        return self._moved, self._weight

    def add(self, box_pixels: np.ndarray, drawn: np.ndarray, crop: np.ndarray) -> None:
        """The pasted box (h,w,3) uint8, in place: the rendered (S,S,3) `crop`'s band above
        SPLIT replaced by the picture's, moved to `drawn` (478,2|3), under its weight."""
        detail, weight = self.moved(drawn)
        cv2.subtract(crop, low_band(crop), dst=self._high_crop, dtype=cv2.CV_32F)
        self._to_box(self._high_crop, cv2.BORDER_REPLICATE, dst=self._high)
        cv2.subtract(detail, self._high, dst=self._high)
        cv2.merge([weight] * 3, dst=self._weight3)
        cv2.multiply(self._high, self._weight3, dst=self._high)
        cv2.add(box_pixels, self._high, dst=box_pixels, dtype=cv2.CV_8U)
