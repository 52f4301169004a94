"""The training-free renderer: a dense thin-plate-spline warp of the target's own crop.

The displacement `fused - target` of the target's landmarks is interpolated by a thin-plate spline
whose control points are the TARGET's landmarks (plus zero-displacement anchors on a ring around
the face and on the crop border). The spline's kernel therefore depends only on the target: the
solve and the basis on a coarse grid over the face are precomputed in `set_target`, and a frame
costs one (G*G, N) x (N, 2) matmul for the forward field d(p), a few fixed-point iterations
p_src = p - d(p_src) on the coarse grid to invert it, an upsample and one `cv2.remap`.

Where the fused inner lips open beyond the target's, `MouthFiller` paints a mouth cavity with
teeth instead of the stretched lip line (see `reenact.render.mouth`).
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.errors import InputError
from reenact.render import register_renderer
from reenact.render.mouth import MouthFiller

NUM_LANDMARKS = 478
NUM_MESH = 468  # 468..477 are the irises: they follow the eye contour, not their own points

# Face-oval indices of the MediaPipe mesh, in order around the face.
FACE_OVAL = np.array(
    [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
     152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109],
    dtype=np.int64,
)


def _tps_kernel(r2: np.ndarray) -> np.ndarray:
    """U(r) = r^2 log r^2 (0 at r = 0), from squared distances."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = r2 * np.log(r2)
    out[r2 <= 0] = 0.0
    return out


def _pairwise_r2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,2), (M,2) -> (N,M) squared distances."""
    diff = a[:, None, :] - b[None, :, :]
    return np.einsum("nmk,nmk->nm", diff, diff)


def validate_landmarks(landmarks: np.ndarray, name: str) -> np.ndarray:
    """(478,2|3) finite landmarks -> (478,2) float64 xy; anything else raises InputError."""
    lm = np.asarray(landmarks)
    if lm.ndim != 2 or lm.shape[0] != NUM_LANDMARKS or lm.shape[1] not in (2, 3):
        raise InputError(f"{name}: expected (478,3) landmarks, got shape {lm.shape}")
    xy = lm[:, :2].astype(np.float64)
    if not np.isfinite(xy).all():
        raise InputError(f"{name}: landmarks contain NaN or inf; re-track the face")
    return xy


def anchor_points(target_xy: np.ndarray, size: int, *, ring_scale: float = 1.22) -> np.ndarray:
    """Zero-displacement control points: a ring around the face oval and the crop border.

    target_xy: (478,2) crop pixels. Returns (K,2) float64 crop pixels. Ring points closer than
    3 % of the side to the border are dropped (the border anchors hold there).
    """
    oval = target_xy[FACE_OVAL]
    centre = oval.mean(axis=0)
    ring = centre + ring_scale * (oval - centre)
    margin = 0.03 * size
    inside = np.all((ring > margin) & (ring < size - 1 - margin), axis=1)
    ticks = np.linspace(0.0, size - 1.0, 9)
    lo, hi = np.zeros_like(ticks), np.full_like(ticks, size - 1.0)
    border = np.concatenate([
        np.stack([ticks, lo], 1), np.stack([ticks, hi], 1),
        np.stack([lo, ticks], 1)[1:-1], np.stack([hi, ticks], 1)[1:-1],
    ])
    return np.concatenate([ring[inside], border])


class ThinPlateField:
    """Forward displacement field d(p) of a TPS with fixed control points, on a coarse grid.

    control: (N,2) crop pixels; the first `num_free` carry displacements, the rest are held at 0.
    roi: (x0, y0, x1, y1) pixel box the grid covers; grid: coarse samples per side (G).
    Sample (i, j) sits at pixel (x0 + (j + 0.5) * w / G - 0.5, y0 + (i + 0.5) * h / G - 0.5), the
    convention of `cv2.resize`, so the field upsamples to the box exactly.
    """

    def __init__(
        self, *, control: np.ndarray, num_free: int, roi: tuple[int, int, int, int], grid: int,
        size: int, regularization: float = 1e-5,
    ) -> None:
        x0, y0, x1, y1 = roi
        self.roi, self.grid = roi, grid
        norm = float(size)
        pts = control / norm
        n = len(pts)
        system = np.zeros((n + 3, n + 3))
        system[:n, :n] = _tps_kernel(_pairwise_r2(pts, pts)) + regularization * np.eye(n)
        system[:n, n] = 1.0
        system[:n, n + 1 :] = pts
        system[n, :n] = 1.0
        system[n + 1 :, :n] = pts.T
        rhs = np.zeros((n + 3, num_free))
        rhs[:num_free, :num_free] = np.eye(num_free)
        coef = np.linalg.solve(system, rhs)  # (n+3, num_free): values -> spline coefficients
        gx = x0 + (np.arange(grid) + 0.5) * (x1 - x0) / grid - 0.5
        gy = y0 + (np.arange(grid) + 0.5) * (y1 - y0) / grid - 0.5
        xx, yy = np.meshgrid(gx, gy)
        self.points = np.stack([xx, yy], axis=-1).astype(np.float32)  # (G,G,2) crop pixels
        flat = self.points.reshape(-1, 2).astype(np.float64) / norm
        basis = np.empty((len(flat), n + 3))
        basis[:, :n] = _tps_kernel(_pairwise_r2(flat, pts))
        basis[:, n] = 1.0
        basis[:, n + 1 :] = flat
        # (G*G, num_free): control displacements (pixels) -> field (pixels), linear.
        self.operator = np.ascontiguousarray((basis @ coef).astype(np.float32))
        # pixel -> coarse-sample coordinates, for sampling the field at arbitrary points
        self.to_grid_scale = np.array([grid / (x1 - x0), grid / (y1 - y0)], np.float32)
        self.to_grid_offset = np.array(
            [0.5 * grid / (x1 - x0) - 0.5 - x0 * grid / (x1 - x0),
             0.5 * grid / (y1 - y0) - 0.5 - y0 * grid / (y1 - y0)], np.float32,
        )

    def forward(self, displacement: np.ndarray) -> np.ndarray:
        """(num_free,2) float32 control displacements -> (G,G,2) float32 field d at the samples."""
        return (self.operator @ displacement).reshape(self.grid, self.grid, 2)

    def _sample(self, values: np.ndarray, where_px: np.ndarray) -> np.ndarray:
        """Bilinear samples of a (G,G,C) grid array at (G,G,2) pixel positions (0 outside)."""
        where = where_px * self.to_grid_scale + self.to_grid_offset
        return cv2.remap(
            values, where[..., 0], where[..., 1], cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0,
        ).reshape(values.shape)

    def backward(self, field: np.ndarray, iterations: int) -> np.ndarray:
        """Invert p' = p + d(p) on the grid by damped Newton steps on q + d(q) = p'.

        field: (G,G,2) forward field. Returns (G,G,2) float32 backward displacement q - p'.
        Newton (unlike the fixed point q <- p' - d(q)) converges where the warp stretches more
        than 2x (an opening mouth). Where the warp folds (det < 0) the step is clamped and the
        result is one of the pre-images. Outside the box the field is taken as 0.
        """
        points = self.points
        jac = self._jacobian(field)  # (G,G,4): dd_x/dx, dd_x/dy, dd_y/dx, dd_y/dy
        source = points - field
        max_step = 2.0 / float(self.to_grid_scale.min())  # two grid cells, in pixels
        for _ in range(iterations):
            d = self._sample(field, source)
            j = self._sample(jac, source)
            rx = source[..., 0] + d[..., 0] - points[..., 0]
            ry = source[..., 1] + d[..., 1] - points[..., 1]
            a, b, c, e = 1.0 + j[..., 0], j[..., 1], j[..., 2], 1.0 + j[..., 3]
            det = a * e - b * c
            det = np.where(np.abs(det) < 0.05, np.copysign(0.05, det), det)
            step_x = np.clip((e * rx - b * ry) / det, -max_step, max_step)
            step_y = np.clip((a * ry - c * rx) / det, -max_step, max_step)
            source[..., 0] -= step_x
            source[..., 1] -= step_y
        return source - points

    def _jacobian(self, field: np.ndarray) -> np.ndarray:
        """(G,G,2) field -> (G,G,4) float32 spatial derivatives per pixel (central differences)."""
        sx, sy = self.to_grid_scale
        gx = np.gradient(field, axis=1) * sx  # (G,G,2): d/dx of (d_x, d_y)
        gy = np.gradient(field, axis=0) * sy
        return np.ascontiguousarray(
            np.stack([gx[..., 0], gy[..., 0], gx[..., 1], gy[..., 1]], axis=-1), dtype=np.float32
        )


@register_renderer("warp")
class WarpRenderer:
    """Warp the target crop so its landmarks land on the fused ones (training-free Omega).

    size: crop side (256 or 512). grid: coarse field samples per side over the face box.
    iterations: fixed-point steps inverting the forward field. fill_mouth: paint an opened mouth.
    """

    def __init__(
        self, *, size: int = 256, grid: int = 64, iterations: int = 4, fill_mouth: bool = True
    ) -> None:
        if size < 64:
            raise InputError(f"renderer.size: {size} is too small for the warp renderer (>= 64)")
        self.size = int(size)
        self.grid = int(grid)
        self.iterations = int(iterations)
        self.mouth = MouthFiller(size=self.size) if fill_mouth else None
        self._field: ThinPlateField | None = None
        self._target: np.ndarray | None = None
        self._target_xy: np.ndarray | None = None
        ident = np.mgrid[0 : self.size, 0 : self.size][::-1].transpose(1, 2, 0)
        self._identity = np.ascontiguousarray(ident.astype(np.float32))  # (S,S,2) x, y

    def set_target(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        """target_crop: (S,S,3) uint8 RGB aligned crop; target_landmarks: (478,2|3) crop pixels."""
        s = self.size
        crop = np.asarray(target_crop)
        if crop.shape != (s, s, 3) or crop.dtype != np.uint8:
            raise InputError(
                f"target crop: expected ({s},{s},3) uint8 for renderer.size={s}, "
                f"got {crop.shape} {crop.dtype}"
            )
        xy = validate_landmarks(target_landmarks, "target landmarks")
        anchors = anchor_points(xy, s)
        control = np.concatenate([xy[:NUM_MESH], anchors])
        roi = self._roi(xy)
        self._field = ThinPlateField(
            control=control, num_free=NUM_MESH, roi=roi, grid=self.grid, size=s
        )
        self._target = np.ascontiguousarray(crop)
        self._target_xy = xy.astype(np.float32)
        self._map = self._identity.copy()
        if self.mouth is not None:
            self.mouth.set_target(self._target, self._target_xy)

    def _roi(self, xy: np.ndarray) -> tuple[int, int, int, int]:
        """Pixel box around the face holding the anchor ring (where the field lives)."""
        s = self.size
        oval = xy[FACE_OVAL]
        centre = oval.mean(axis=0)
        ring = centre + 1.3 * (oval - centre)
        x0, y0 = np.clip(np.floor(ring.min(axis=0)), 0, s - 2).astype(int)
        x1, y1 = np.clip(np.ceil(ring.max(axis=0)) + 1, 2, s).astype(int)
        return int(x0), int(y0), int(max(x1, x0 + 2)), int(max(y1, y0 + 2))

    def render(self, fused_landmarks: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """fused_landmarks: (478,2|3) crop pixels -> (S,S,3) uint8 RGB warped target.

        out: optional (S,S,3) uint8 buffer to write into (returned); else a new array.
        """
        if self._field is None or self._target is None or self._target_xy is None:
            raise RuntimeError("WarpRenderer.render called before set_target")
        fused = validate_landmarks(fused_landmarks, "fused landmarks").astype(np.float32)
        if out is None:
            out = self._target.copy()
        else:
            np.copyto(out, self._target)
        disp = fused[:NUM_MESH] - self._target_xy[:NUM_MESH]
        field = self._field.forward(disp)
        back = self._field.backward(field, self.iterations)
        x0, y0, x1, y1 = self._field.roi
        up = cv2.resize(back, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        roi_map = self._map[y0:y1, x0:x1]
        np.add(self._identity[y0:y1, x0:x1], up, out=roi_map)
        cv2.remap(
            self._target, roi_map, None, cv2.INTER_LINEAR,
            dst=out[y0:y1, x0:x1], borderMode=cv2.BORDER_REFLECT,
        )
        if self.mouth is not None:
            self.mouth.paint(out, fused)
        return out
