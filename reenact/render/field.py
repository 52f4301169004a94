"""A dense displacement field from landmark displacements: piecewise-linear over the face mesh.

The target's landmarks are triangulated once: the MediaPipe tessellation with its eye and mouth
holes closed (`regions.TRIANGLES` and `HOLE_TRIANGLES`) covers the face; a Delaunay
triangulation (cv2.Subdiv2D) joins the face oval to a ring of anchor points around the face and
to the crop border. Anchors do not move.

For every sample of a coarse grid over the face box, the containing triangle and barycentric
weights are precomputed, so a frame's forward field d(p) (where the target's pixel p goes) is a
3-term weighted gather of the landmark displacements: no solve, no matmul. The backward map that
`cv2.remap` needs is found by damped Newton steps on q + d(q) = p' over the grid.
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.landmarks.regions import HOLE_TRIANGLES, REGIONS, TRIANGLES
from reenact.render.field_memo import mesh_key
from reenact.render.mesh_search import barycentric, boxed, locate, signed_areas, vertex_neighbours

NUM_MESH = 468  # 468..477 are the irises: they ride on the eye's triangles, not their own
FACE_OVAL = REGIONS["face_oval"]
_SHIFT = 4  # cv2 drawing sub-pixel bits
_CENTRAL_X = np.array([[-0.5, 0.0, 0.5]], np.float32)  # d/dx by central differences
_CENTRAL_Y = _CENTRAL_X.T.copy()
# a backward-field sample near a fold, further than this (grid cells) from its neighbours'
# median, is a stray pre-image (MeshField.backward)
STRAY_CELLS = 0.5
# ... "near a fold": the forward map's Jacobian determinant at a sample (or a neighbour) ramps
# from not at all at the first value to fully at the second
FOLD_DET = (0.2, 0.1)


def identity_map(size: int) -> np.ndarray:
    """(S,S,2) float32 each pixel's own x, y: the map `cv2.remap` reads as "nothing moved"."""
    ident = np.mgrid[0:size, 0:size][::-1].transpose(1, 2, 0)
    return np.ascontiguousarray(ident, dtype=np.float32)


def anchor_points(target_xy: np.ndarray, size: int, *, ring_scale: float = 1.22) -> np.ndarray:
    """Zero-displacement points: a ring around the face oval, and the crop border.

    target_xy: (>=468,2) crop pixels. Returns (K,2) float64 crop pixels. Ring points within 3 %
    of the side from the border are dropped (the border holds there).
    """
    oval = target_xy[FACE_OVAL]
    centre = oval.mean(axis=0)
    ring = centre + ring_scale * (oval - centre)
    margin = 0.03 * size
    ring = ring[np.all((ring > margin) & (ring < size - 1 - margin), axis=1)]
    ticks = np.linspace(0.0, size - 1.0, 9)
    lo, hi = np.zeros_like(ticks), np.full_like(ticks, size - 1.0)
    border = np.concatenate([
        np.stack([ticks, lo], 1), np.stack([ticks, hi], 1),
        np.stack([lo, ticks], 1)[1:-1], np.stack([hi, ticks], 1)[1:-1],
    ])
    return np.concatenate([ring, border])


def _delaunay(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles of (P,2) distinct points as (T,3) indices (cv2.Subdiv2D)."""
    lo = points.min(axis=0) - 1.0
    hi = points.max(axis=0) + 1.0
    subdiv = cv2.Subdiv2D((int(np.floor(lo[0])), int(np.floor(lo[1])),
                           int(np.ceil(hi[0] - lo[0])) + 2, int(np.ceil(hi[1] - lo[1])) + 2))
    pts32 = np.ascontiguousarray(points, dtype=np.float32)
    subdiv.insert([(float(x), float(y)) for x, y in pts32])
    corners = np.ascontiguousarray(subdiv.getTriangleList().reshape(-1, 2), dtype=np.float32)
    # each corner's point, matched by its exact float32 (x, y) bits (the last of equal points)
    keys, corner_keys = pts32.view(np.int64).ravel(), corners.view(np.int64).ravel()
    order = np.argsort(keys, kind="stable")
    ends = np.maximum(np.searchsorted(keys[order], corner_keys, side="right") - 1, 0)
    found = keys[order[ends]] == corner_keys
    ids = np.where(found, order[ends], -1).reshape(-1, 3)
    # drops triangles on Subdiv2D's virtual outer vertices
    return ids[(ids >= 0).all(axis=1)].astype(np.int64)


def _outer_triangles(points: np.ndarray, num_mesh: int) -> np.ndarray:
    """Delaunay triangles of face oval + anchors that lie outside the oval: (T,3) into points."""
    ids = np.concatenate([FACE_OVAL, np.arange(num_mesh, len(points))])
    tri = ids[_delaunay(points[ids])]
    oval = points[FACE_OVAL].astype(np.float32).reshape(-1, 1, 2)
    centroids = points[tri].mean(axis=1)
    outside = [cv2.pointPolygonTest(oval, (float(x), float(y)), False) < 0 for x, y in centroids]
    return tri[np.array(outside, dtype=bool)]


def finite_depth(landmarks: np.ndarray) -> np.ndarray | None:
    """(N,) float64 z of (N,3) landmarks; None for (N,2) or a non-finite z."""
    lm = np.asarray(landmarks)
    if lm.shape[1] < 3:
        return None
    z = lm[:, 2].astype(np.float64)
    return z if np.isfinite(z).all() else None


def visible_order(xy: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """TRIANGLES in a drawing order for the picture: those turned away in it first, then the
    rest from the farthest to the nearest (mean z), so that the last drawn over a pixel is the
    surface the picture shows there. xy: (468+,2) crop pixels; depth: (468+,) their z (smaller
    is nearer)."""
    area = signed_areas(np.asarray(xy, np.float64)[:NUM_MESH, :2], TRIANGLES)
    away = area * np.sign(area.sum()) < 0.0
    # z as float32 first: every field made from one target's landmarks orders them alike
    far = -np.asarray(depth, np.float32).astype(np.float64)[TRIANGLES].mean(axis=1)
    return TRIANGLES[np.lexsort((far, ~away))]


def face_triangulation(target_xy: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Control points and triangles covering the whole crop.

    target_xy: (478,2|3) crop pixels (and z). Returns points (468+K,2) float64 (mesh, then
    anchors) and triangles (T,3) int64 in drawing order: outside the face, the eye and mouth
    holes, then the face mesh (so a closed mouth's degenerate hole triangles never win over the
    lips); with z, the mesh in `visible_order`, so that where a turned picture's mesh overlaps
    itself (the far cheek behind the nose) each pixel follows the surface it shows.
    """
    target_xy = np.asarray(target_xy, np.float64)
    xy = target_xy[:, :2]
    points = np.concatenate([xy[:NUM_MESH], anchor_points(xy, size)])
    outer = _outer_triangles(points, NUM_MESH)
    depth = finite_depth(target_xy[:NUM_MESH])
    mesh = TRIANGLES if depth is None else visible_order(xy, depth)
    return points, np.concatenate([outer, HOLE_TRIANGLES, mesh])


def face_box(target_xy: np.ndarray, size: int, *, scale: float = 1.25) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) pixel box around the anchor ring: outside it the field is exactly 0."""
    oval = target_xy[FACE_OVAL]
    centre = oval.mean(axis=0)
    ring = centre + scale * (oval - centre)
    x0, y0 = np.clip(np.floor(ring.min(axis=0)), 0, size - 2).astype(int)
    x1, y1 = np.clip(np.ceil(ring.max(axis=0)) + 1, 2, size).astype(int)
    return int(x0), int(y0), int(max(x1, x0 + 2)), int(max(y1, y0 + 2))


class MeshField:
    """Forward displacement field on a coarse grid, linear over triangles; and its inverse.

    points: (P,2) crop pixels (the first `num_free` move, the rest are fixed anchors);
    triangles: (T,3) into points, later ones drawn over earlier ones; roi: (x0,y0,x1,y1) box;
    grid: samples per side (G). Sample (i, j) sits at pixel (x0 + (j+0.5) w/G - 0.5,
    y0 + (i+0.5) h/G - 0.5), the convention of `cv2.resize`, so the field upsamples exactly.
    """

    def __init__(
        self, *, points: np.ndarray, triangles: np.ndarray, num_free: int,
        roi: tuple[int, int, int, int], grid: int,
    ) -> None:
        x0, y0, x1, y1 = roi
        self.roi, self.grid, self.num_free = roi, int(grid), int(num_free)
        self.to_grid_scale = np.array([grid / (x1 - x0), grid / (y1 - y0)], np.float32)
        # pixel x -> grid x: (x - x0 + 0.5) G / w - 0.5, the inverse of the sample positions below
        offset = 0.5 * self.to_grid_scale - 0.5 - np.array([x0, y0]) * self.to_grid_scale
        self.to_grid_offset = offset.astype(np.float32)
        gx = x0 + (np.arange(grid) + 0.5) * (x1 - x0) / grid - 0.5
        gy = y0 + (np.arange(grid) + 0.5) * (y1 - y0) / grid - 0.5
        xx, yy = np.meshgrid(gx, gy)
        self.points = np.ascontiguousarray(np.stack([xx, yy], -1), dtype=np.float32)  # (G,G,2)
        self._px = np.ascontiguousarray(self.points[..., 0])
        self._py = np.ascontiguousarray(self.points[..., 1])
        owner = self._rasterise(points, triangles)
        self.index, self.weights = self._barycentric(points, triangles, owner)
        self._flat_index = np.ascontiguousarray(self.index.reshape(-1))
        self._displacement = np.zeros((len(points), 2), np.float32)
        # the mesh itself, for the front layer of a fold (`_front_layer`)
        self._points = np.asarray(points, np.float64)
        self._triangles = np.asarray(triangles, np.int64)
        # the signed areas of the face's own triangles that face the camera in the picture; 0 =
        # no part in a fold's front layer: the triangles out to the anchors (where the outline
        # passes the ring, the hair is no layer of the face) and those folded behind the
        # picture's own outline (the tessellation is consistently oriented: most of its area has
        # one sign, those have the other)
        face = np.all(self._triangles < self.num_free, axis=1)
        area = np.where(face, signed_areas(self._points, self._triangles), 0.0)
        self._area = np.where(area * np.sign(area.sum()) > 0.0, area, 0.0)
        self.key = mesh_key(points, triangles, self.num_free, roi, self.grid)  # `field_memo`

    @property
    def flat_index(self) -> np.ndarray:
        """(G*G*3,) int: the three mesh points of each grid sample's triangle, flattened."""
        return self._flat_index

    @property
    def mesh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The mesh a fold's front layer is found on: points (P,2) float64, triangles (T,3)
        int64 and the face triangles' signed areas (T,) float64 (0: no part in it)."""
        return self._points, self._triangles, self._area

    def _rasterise(self, points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
        """(G*G,) int: the triangle drawn last over each grid sample (-1 = none)."""
        owner = np.full((self.grid, self.grid), -1, np.int32)
        grid_xy = points * self.to_grid_scale + self.to_grid_offset
        corners = np.round(grid_xy * (1 << _SHIFT)).astype(np.int32)[triangles]  # (T,3,2)
        fill = cv2.fillConvexPoly
        for t in range(len(corners)):
            fill(owner, corners[t], t, cv2.LINE_8, _SHIFT)
        return owner.reshape(-1)

    def _barycentric(self, points: np.ndarray, triangles: np.ndarray, owner: np.ndarray):
        """Per sample: (G*G,3) point indices and (G*G,3) float32 weights (0 where uncovered)."""
        flat = self.points.reshape(-1, 2).astype(np.float64)
        weights = barycentric(points, triangles, owner, flat)
        bad = np.flatnonzero((weights < -0.02).any(axis=1) | (weights > 1.02).any(axis=1))
        if len(bad):  # the rasteriser's generous edge pixels: the owner's neighbours, exactly
            near = vertex_neighbours(triangles)[np.maximum(owner[bad], 0)]
            exact = locate(points, triangles, flat[bad], near)
            owner[bad[exact >= 0]] = exact[exact >= 0]
            lost = bad[exact < 0]
            if len(lost):  # still unplaced: every triangle whose box holds it
                found = locate(points, triangles, flat[lost], boxed(points, triangles, flat[lost]))
                owner[lost[found >= 0]] = found[found >= 0]
            weights = barycentric(points, triangles, owner, flat)
        weights[owner < 0] = 0.0
        tri = triangles[np.maximum(owner, 0)]
        return np.ascontiguousarray(tri), np.ascontiguousarray(weights, dtype=np.float32)

    def forward(self, displacement: np.ndarray) -> np.ndarray:
        """(num_free,2) float32 landmark displacements -> (G,G,2) float32 field d at the samples."""
        self._displacement[: self.num_free] = displacement
        corners = np.take(self._displacement, self._flat_index, axis=0).reshape(-1, 3, 2)
        field = np.einsum("nk,nkc->nc", self.weights, corners)
        return field.reshape(self.grid, self.grid, 2)

    def sample(self, values: np.ndarray, where_x: np.ndarray, where_y: np.ndarray) -> np.ndarray:
        """Bilinear samples of a (G,G,C) grid array at pixel positions (G,G) x, (G,G) y.

        Returns (G,G,C) float32 (C > 1) or (G,G); 0 outside the box.
        """
        gx = where_x * self.to_grid_scale[0] + self.to_grid_offset[0]
        gy = where_y * self.to_grid_scale[1] + self.to_grid_offset[1]
        return cv2.remap(values, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=0)

    def _with_jacobian(self, field: np.ndarray) -> np.ndarray:
        """(G,G,2) field -> (G,G,6) float32: d_x, d_y, dd_x/dx, dd_x/dy, dd_y/dx, dd_y/dy."""
        sx, sy = (float(v) for v in self.to_grid_scale)
        ddx = cv2.filter2D(field, -1, _CENTRAL_X * sx, borderType=cv2.BORDER_REPLICATE)
        ddy = cv2.filter2D(field, -1, _CENTRAL_Y * sy, borderType=cv2.BORDER_REPLICATE)
        return cv2.merge([field, ddx[..., :1], ddy[..., :1], ddx[..., 1:], ddy[..., 1:]])

    def backward(self, field: np.ndarray, iterations: int, depth: np.ndarray | None = None,
                 window: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """Invert p' = p + d(p) over the grid by damped Newton steps on q + d(q) = p'.

        field: (G,G,2) forward field, from the last `forward`; depth: (num_free,) the moved
        points' depth (MediaPipe's z: smaller is nearer the camera), or None. Returns (G,G,2)
        float32 backward displacement q - p'. With a depth, where the moved mesh folds over
        each sample shows the nearest surface that faces the camera (`_front_layer`).
        Newton (unlike the fixed point q <- p' - d(q)) also converges where the warp stretches
        more than 2x, as in an opening mouth. Where the fused mesh folds over (det < 0) the step
        is clamped to two grid cells and the result is one of the pre-images; samples that
        stray from their neighbours there are then moved to them (`_without_strays`).
        window: (gx0, gy0, gx1, gy1) grid samples, without a depth: only those are worked out
        (the same values), the rest left 0.
        """
        px, py = self._px, self._py
        packed = self._with_jacobian(field)
        part = (slice(None), slice(None))  # the samples worked out: all, or a window's
        if window is not None and depth is None:  # and one sample round it: the strays' 3x3
            gx0, gy0, gx1, gy1 = window
            g = self.grid
            rows = slice(max(gy0 - 1, 0), min(gy1 + 1, g))
            part = (rows, slice(max(gx0 - 1, 0), min(gx1 + 1, g)))
        whole, px, py, field = field, px[part], py[part], field[part]
        qx = px - field[..., 0]
        qy = py - field[..., 1]
        max_step = 2.0 / float(self.to_grid_scale.min())
        for _ in range(iterations):
            dx, dy, jxx, jxy, jyx, jyy = cv2.split(self.sample(packed, qx, qy))
            rx = qx + dx - px
            ry = qy + dy - py
            jxx += 1.0
            jyy += 1.0
            det = jxx * jyy - jxy * jyx
            det[np.abs(det) < 0.05] = 0.05  # folded or collapsed: a short, safe step
            qx -= np.clip((jyy * rx - jxy * ry) / det, -max_step, max_step)
            qy -= np.clip((jxx * ry - jyx * rx) / det, -max_step, max_step)
        out = np.empty_like(field)
        out[..., 0] = qx - px
        out[..., 1] = qy - py
        if depth is not None:
            out = self._front_layer(out, depth, det)
        out = self._without_strays(out, det)
        if out.shape == whole.shape:
            return out
        full = np.zeros_like(whole)
        full[part] = out
        return full

    def _front_layer(self, back: np.ndarray, depth: np.ndarray, det: np.ndarray) -> np.ndarray:
        """`back` (G,G,2) with each sample under a fold set to the nearest camera-facing surface
        there (in place; returned). depth: (num_free,) z of the moved points; det: (G,G) the
        forward map's Jacobian determinant where Newton ended.

        A turn folds the moved mesh: the side of the nose that faces away turns over (its
        triangles flip), and under it three layers cover the same output pixels: the far cheek,
        the flipped side of the nose, the front of the nose. Newton lands on any of them, and the
        side of the nose, squeezed, drew a dark crack from the eye to the nostril (Einstein at an
        18 degree turn). A real face hides the flipped layer and shows the nearest of the
        others: each sample covered by a flipped triangle, or beside one (two samples) with its
        Newton steps ended near a fold (det under FOLD_DET's first value), and their neighbours,
        takes, among the face triangles that did not flip, the one nearest the camera that
        holds it. Folds of the triangles out to the anchor ring are left to `_without_strays`."""
        moved = self._points + self._displacement
        area = signed_areas(moved, self._triangles)
        solid = np.abs(self._area) > 1e-2
        flipped = solid & (area * self._area < 0.0)
        if not flipped.any():
            return back
        g = self.grid
        cell, _, w = self._pairs(moved, self._triangles[flipped])
        cover = np.zeros(g * g, np.uint8)
        cover[cell[np.all(w >= -1e-6, axis=1)]] = 1
        cover = cover.reshape(g, g)
        near = cv2.dilate(cover, np.ones((5, 5), np.uint8))
        mask = cv2.dilate(cover | ((det < FOLD_DET[0]) & (near > 0)).astype(np.uint8),
                          np.ones((3, 3), np.uint8)).reshape(-1) > 0
        if not mask.any():  # flipped triangles that cover no sample
            return back
        at = self.points.reshape(-1, 2)[mask]  # the samples to settle: only triangles near them
        corners = moved[self._triangles]
        overlap = (np.all(corners.max(axis=1) >= at.min(axis=0), axis=1)
                   & np.all(corners.min(axis=1) <= at.max(axis=0), axis=1))
        front = self._triangles[solid & ~flipped & (np.abs(area) > 1e-2) & overlap]
        cell, tri_at, w = self._pairs(moved, front)
        keep = mask[cell] & np.all(w >= -1e-6, axis=1)
        cell, tri_at, w = cell[keep], front[tri_at[keep]], w[keep]
        if not len(cell):
            return back
        z = (w * depth[tri_at]).sum(axis=1)
        order = np.lexsort((z, cell))  # per sample, the nearest first
        first = order[np.r_[True, cell[order][1:] != cell[order][:-1]]]
        q = (w[first, :, None] * self._points[tri_at[first]]).sum(axis=1)
        flat = back.reshape(-1, 2)
        flat[cell[first]] = (q - self.points.reshape(-1, 2)[cell[first]]).astype(np.float32)
        return back

    def _pairs(self, points: np.ndarray, triangles: np.ndarray):
        """Every grid sample within each triangle's bounding box, as pairs: (N,) flat sample
        index, (N,) row of `triangles`, and (N,3) the sample's barycentric weights in that
        triangle of (P,2) `points` (all three >= 0 inside)."""
        g = self.grid
        corners = points[triangles] * self.to_grid_scale + self.to_grid_offset  # (K,3,2)
        lo = np.clip(np.ceil(corners.min(axis=1)), 0, g).astype(np.int64)
        hi = np.clip(np.floor(corners.max(axis=1)), -1, g - 1).astype(np.int64)
        span = np.maximum(hi - lo + 1, 0)  # (K,2) columns, rows
        counts = span[:, 0] * span[:, 1]
        tri_at = np.repeat(np.arange(len(triangles)), counts)
        step = np.arange(len(tri_at)) - np.repeat(np.cumsum(counts) - counts, counts)
        cols = np.maximum(span[tri_at, 0], 1)
        cell = (lo[tri_at, 1] + step // cols) * g + lo[tri_at, 0] + step % cols
        at = self.points.reshape(-1, 2)[cell].astype(np.float64)
        return cell, tri_at, barycentric(points, triangles, tri_at, at)

    def _without_strays(self, back: np.ndarray, det: np.ndarray) -> np.ndarray:
        """`back` (G,G,2) with the samples near a fold that stray from their 3x3 neighbours'
        median moved to it (in place; returned). det: (G,G) the forward map's Jacobian
        determinant at each sample's pre-image.

        Where the fused mesh folds over (a far cheek pressed against the nose by a head turn,
        a face outline pushed past the anchor ring), neighbouring samples land on different
        pre-images, and the remap drew a dotted line of the wrong pre-image's pixels (black
        dots along a cheek turned far from the camera). A median of a locally linear field is the
        field itself, and a warp that does not fold is left exactly as it was (a stretch as
        steep as an opening mouth's has kinks, but no fold). The weight ramps (a sample's or a
        neighbour's det over FOLD_DET; its distance from the median from STRAY_CELLS to
        twice that) keep the result continuous, so that the GPU's copy of this step
        (`reenact.render.warp_torch`) follows it closely."""
        start, full = FOLD_DET
        fold = np.clip((start - det) / (start - full), 0.0, 1.0).astype(np.float32)
        if not fold.any():
            return back
        near = cv2.dilate(fold, np.ones((3, 3), np.uint8))
        median = cv2.medianBlur(back, 3)
        limit = STRAY_CELLS / float(self.to_grid_scale.min())
        far = np.abs(back - median).max(axis=2)
        weight = near * np.clip(far / limit - 1.0, 0.0, 1.0)
        back += weight[..., None] * (median - back)
        return back


def face_field(target_xy: np.ndarray, size: int, *, grid: int) -> MeshField:
    """The field over a target's face: its mesh (`face_triangulation`, the 468 mesh points free,
    the anchors fixed) over `face_box`, on a grid of `grid` samples a side. target_xy: (478,2|3)
    crop pixels (with z, in the picture's `visible_order`); size: crop side."""
    points, triangles = face_triangulation(target_xy, size)
    return MeshField(points=points, triangles=triangles, num_free=NUM_MESH,
                     roi=face_box(np.asarray(target_xy)[:, :2], size), grid=grid)
