"""The training-free warp's dense work in torch, on whatever device the generator runs on.

`WarpRenderer` (numpy + cv2) does it all on the CPU. For a CUDA frame the same steps run on the
GPU: the forward field's 3-term gather on the coarse grid, the Newton steps that invert it, the
upsampling to every pixel of the face box and the bilinear resampling of the target. What a warp
cannot show - an eyeball that keeps its scale inside a closing eye, irises where the gaze puts
them, lid skin, an opened mouth's cavity - is decided per frame on the CPU from the fused landmarks (the warp's corrections, written into
planes by `reenact.render.corrections.apply.WarpExtras`: sparse, a few small boxes) and arrives as full-crop planes: `eyes` (3,S,S) = alpha and alpha x eyeball shift
for the backward map (the lips' band map, `reenact.render.lip_bands`, rides in the same planes
over the mouth), `overlay` (4,S,S) = RGB and alpha blended over the warped image.

Every tensor has a shape fixed by the crop size and the grid, so a CUDA graph can hold the lot;
`set_target` only copies new values into the same buffers.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from reenact.render.field import FOLD_DET, NUM_MESH, STRAY_CELLS
from reenact.render.warp import WarpRenderer

MAX_POINTS = 1024  # mesh + anchors of any target (468 + ~60)
MAX_TRIANGLES = 1536  # the filled mesh (898) and the triangles out to the anchors (~100-200)


class TorchWarp(torch.nn.Module):
    """The dense part of `WarpRenderer` as a torch module with static buffers.

    size, grid, iterations: as `WarpRenderer`. Call `set_target(cpu_warp)` with a WarpRenderer
    whose `set_target` has run; then `forward(fused)` with fused (478,2) float32 on the module's
    device returns (1,3,S,S) float32 in [0, 255]. `eyes` and `overlay` are input buffers.
    """

    def __init__(self, *, size: int, grid: int = 64, iterations: int = 3) -> None:
        super().__init__()
        s, g = int(size), int(grid)
        self.size, self.grid, self.iterations = s, g, int(iterations)
        buffers = {
            "index": torch.zeros(g * g * 3, dtype=torch.long),
            "weights": torch.zeros(g * g, 3, 1),
            "points": torch.zeros(g, g, 2),  # the coarse samples' pixel positions
            "to_grid": torch.zeros(4),  # scale x, scale y, offset x, offset y
            "max_step": torch.zeros(()),
            "stray_limit": torch.zeros(()),  # field.STRAY_CELLS grid cells, in pixels
            "target_mesh": torch.zeros(NUM_MESH, 2),
            # the mesh for a fold's front layer (`_front_layer`): every point (mesh, anchors;
            # zero-padded), the triangles (padded with degenerate ones) and the face triangles'
            # signed areas (0 for the others: they take no part)
            "mesh_points": torch.zeros(MAX_POINTS, 2),
            "triangles": torch.zeros(MAX_TRIANGLES, 3, dtype=torch.long),
            "mesh_area": torch.zeros(MAX_TRIANGLES),
            "dense_grid": torch.zeros(1, s, s, 2),  # where each pixel reads the coarse grid
            "inside": torch.zeros(s, s, 1),  # 1 inside the face box
            "target": torch.zeros(1, 3, s, s),  # the target crop, [0, 255]
            "eyes": torch.zeros(3, s, s),
            "overlay": torch.zeros(4, s, s),
        }
        for name, value in buffers.items():
            self.register_buffer(name, value, persistent=False)
        ys, xs = torch.meshgrid(
            torch.arange(s, dtype=torch.float32),
            torch.arange(s, dtype=torch.float32),
            indexing="ij",
        )
        self.register_buffer("identity", torch.stack([xs, ys], -1), persistent=False)  # (S,S,2)
        self.register_buffer("zeros_tail", torch.zeros(MAX_POINTS - NUM_MESH, 2), persistent=False)

    @torch.no_grad()
    def set_target(self, cpu_warp: WarpRenderer) -> None:
        """Copy the target's field model and crop from a set-up CPU `WarpRenderer`."""
        field, target = cpu_warp.field, cpu_warp.target
        if field is None or target is None or cpu_warp.target_xy is None:
            raise RuntimeError("TorchWarp.set_target: the CPU warp has no target yet")
        if field.grid != self.grid or cpu_warp.size != self.size:
            raise ValueError("TorchWarp.set_target: grid or size differ from the CPU warp's")
        index = torch.from_numpy(field.flat_index.astype(np.int64))
        if int(index.max()) >= MAX_POINTS:
            raise ValueError(f"TorchWarp: a target mesh with more than {MAX_POINTS} points")
        self.index.copy_(index)
        self.weights.copy_(torch.from_numpy(field.weights).view(-1, 3, 1))
        self.points.copy_(torch.from_numpy(field.points))
        to_grid = np.concatenate([field.to_grid_scale, field.to_grid_offset]).astype(np.float32)
        self.to_grid.copy_(torch.from_numpy(to_grid))
        self.max_step.fill_(2.0 / float(field.to_grid_scale.min()))
        self.stray_limit.fill_(STRAY_CELLS / float(field.to_grid_scale.min()))
        self.target_mesh.copy_(torch.from_numpy(cpu_warp.target_xy[:NUM_MESH]))
        mesh_points, triangles, area = field.mesh
        if len(triangles) > MAX_TRIANGLES:
            raise ValueError(f"TorchWarp: a target mesh with more than {MAX_TRIANGLES} triangles")
        self.mesh_points.zero_()
        self.mesh_points[: len(mesh_points)].copy_(torch.from_numpy(mesh_points).float())
        self.triangles.zero_()
        self.triangles[: len(triangles)].copy_(torch.from_numpy(triangles))
        self.mesh_area.zero_()
        self.mesh_area[: len(area)].copy_(torch.from_numpy(area).float())
        # cv2.resize's convention: pixel x of the box reads grid x (x - x0 + 0.5) G / w - 0.5,
        # clamped to the grid (edge replicated); outside the box the map is the identity
        x0, y0, x1, y1 = field.roi
        g = self.grid
        gx = ((self.identity[..., 0] - x0 + 0.5) * g / (x1 - x0) - 0.5).clamp(0, g - 1)
        gy = ((self.identity[..., 1] - y0 + 0.5) * g / (y1 - y0) - 0.5).clamp(0, g - 1)
        dense = torch.stack([gx, gy], -1) / (g - 1) * 2.0 - 1.0
        self.dense_grid.copy_(dense[None])
        inside = (
            (self.identity[..., 0] >= x0)
            & (self.identity[..., 0] < x1)
            & (self.identity[..., 1] >= y0)
            & (self.identity[..., 1] < y1)
        )
        self.inside.copy_(inside[..., None].float())
        crop = torch.from_numpy(np.ascontiguousarray(target)).permute(2, 0, 1)
        self.target.copy_(crop[None].float())

    def _sample(self, packed: torch.Tensor, qx: torch.Tensor, qy: torch.Tensor) -> torch.Tensor:
        """Bilinear samples of (1,C,G,G) at pixel positions (G,G); 0 outside, as cv2.remap."""
        g = self.grid
        gx = qx * self.to_grid[0] + self.to_grid[2]
        gy = qy * self.to_grid[1] + self.to_grid[3]
        where = torch.stack([gx, gy], -1)[None] / (g - 1) * 2.0 - 1.0
        return F.grid_sample(
            packed, where, mode="bilinear", padding_mode="zeros", align_corners=True
        )[0]

    def _without_strays(self, back: torch.Tensor, det: torch.Tensor) -> torch.Tensor:
        """`MeshField._without_strays` on (1,2,G,G), det (G,G); no host sync (the CUDA graph
        keeps it): the weights are computed everywhere, 0 where no fold is near."""
        g = self.grid
        start, full = FOLD_DET
        fold = ((start - det) / (start - full)).clamp(0.0, 1.0)
        near = F.max_pool2d(fold[None, None], 3, stride=1, padding=1)[0, 0]
        padded = F.pad(back, (1, 1, 1, 1), mode="replicate")  # cv2.medianBlur's border
        median = F.unfold(padded, 3).view(2, 9, g, g).median(dim=1).values[None]
        far = (back - median).abs().amax(dim=1)[0]
        weight = near * (far / self.stray_limit - 1.0).clamp(0.0, 1.0)
        return back + weight * (median - back)

    def _front_layer(
        self, back: torch.Tensor, disp: torch.Tensor, depth: torch.Tensor, det: torch.Tensor
    ) -> torch.Tensor:
        """`MeshField._front_layer` on (1,2,G,G): every sample against every triangle (fixed
        shapes, no host sync on CUDA), kept where `MeshField._front_layer` keeps it. det: (G,G)
        as there; disp: (MAX_POINTS,2) the points' displacement; depth: (NUM_MESH,) their z,
        NaN = unknown (then `back` is returned as it is)."""
        g = self.grid
        moved = self.mesh_points + disp
        tri = self.triangles
        a, b, c = moved[tri[:, 0]], moved[tri[:, 1]], moved[tri[:, 2]]  # (T,2)
        v0, v1 = b - a, c - a
        area = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
        solid = self.mesh_area.abs() > 1e-2
        flipped = solid & (area * self.mesh_area < 0.0)
        if not moved.is_cuda and not bool(flipped.any()):
            return back  # on the CPU a sync is free, and most frames do not fold
        front = solid & ~flipped & (area.abs() > 1e-2)
        den = torch.where(area.abs() < 1e-9, torch.full_like(area, 1e-9), area)
        at = self.points.reshape(-1, 1, 2)  # (N,1,2) output pixels
        v2 = at - a  # (N,T,2)
        wb = (v2[..., 0] * v1[:, 1] - v1[:, 0] * v2[..., 1]) / den
        wc = (v0[:, 0] * v2[..., 1] - v2[..., 0] * v0[:, 1]) / den
        wa = 1.0 - wb - wc
        inside = (wa >= -1e-6) & (wb >= -1e-6) & (wc >= -1e-6)
        cover = (inside & flipped).any(dim=1).float().view(1, 1, g, g)
        near = F.max_pool2d(cover, 5, stride=1, padding=2)[0, 0] > 0.5
        fold = (cover[0, 0] > 0.5) | ((det < FOLD_DET[0]) & near)
        fold = F.max_pool2d(fold.float().view(1, 1, g, g), 3, stride=1, padding=1)[0, 0] > 0.5
        known = torch.isfinite(depth).all()
        # anchors take no part (only face triangles are solid): their z is never read
        z = torch.cat(
            [torch.nan_to_num(depth), torch.zeros(MAX_POINTS - NUM_MESH, device=depth.device)]
        )
        zs = wa * z[tri[:, 0]] + wb * z[tri[:, 1]] + wc * z[tri[:, 2]]
        zs = torch.where(inside & front, zs, torch.full_like(zs, float("inf")))
        best_z, best = zs.min(dim=1)
        w = torch.stack([wa, wb, wc], -1).gather(1, best.view(-1, 1, 1).expand(-1, 1, 3))[:, 0]
        src = self.mesh_points[tri[best]]  # (N,3,2)
        q = (w[..., None] * src).sum(1)
        new = (q - self.points.reshape(-1, 2)).t().reshape(1, 2, g, g)
        use = fold & torch.isfinite(best_z).view(g, g) & known
        return torch.where(use, new, back)

    def dense_map(self, fused: torch.Tensor) -> torch.Tensor:
        """fused (478,2|3) -> (S,S,2) source pixel of each output pixel (identity off the face),
        before the eyeballs' override. With z (a third column, finite), a fold shows its
        nearest camera-facing layer (`MeshField._front_layer`)."""
        g = self.grid
        disp = torch.cat([fused[:NUM_MESH, :2] - self.target_mesh, self.zeros_tail])
        field = (self.weights * disp[self.index].view(g * g, 3, 2)).sum(1).view(g, g, 2)
        f = field.permute(2, 0, 1)[None]  # (1,2,G,G)
        padded = F.pad(f, (1, 1, 1, 1), mode="replicate")
        ddx = (padded[..., 1:-1, 2:] - padded[..., 1:-1, :-2]) * (0.5 * self.to_grid[0])
        ddy = (padded[..., 2:, 1:-1] - padded[..., :-2, 1:-1]) * (0.5 * self.to_grid[1])
        packed = torch.cat([f, ddx[:, :1], ddy[:, :1], ddx[:, 1:], ddy[:, 1:]], 1)  # (1,6,G,G)
        px, py = self.points[..., 0], self.points[..., 1]
        qx, qy = px - field[..., 0], py - field[..., 1]
        for _ in range(self.iterations):
            dx, dy, jxx, jxy, jyx, jyy = self._sample(packed, qx, qy)
            rx, ry = qx + dx - px, qy + dy - py
            jxx, jyy = jxx + 1.0, jyy + 1.0
            det = jxx * jyy - jxy * jyx
            det = torch.where(det.abs() < 0.05, torch.full_like(det, 0.05), det)
            qx = qx - torch.clamp((jyy * rx - jxy * ry) / det, -self.max_step, self.max_step)
            qy = qy - torch.clamp((jxx * ry - jyx * rx) / det, -self.max_step, self.max_step)
        back = torch.stack([qx - px, qy - py])[None]  # (1,2,G,G)
        if fused.shape[1] > 2:
            back = self._front_layer(back, disp, fused[:NUM_MESH, 2], det)
        back = self._without_strays(back, det)
        up = F.grid_sample(
            back, self.dense_grid, mode="bilinear", padding_mode="border", align_corners=True
        )[0].permute(1, 2, 0)
        return self.identity + self.inside * up

    def apply_eyes(self, remap: torch.Tensor) -> torch.Tensor:
        """The `eyes` planes applied to a (S,S,2) map."""
        # eyeballs: map + alpha (identity - shift - map) = map + alpha (identity - map) - B
        alpha = self.eyes[0, ..., None]
        return remap + alpha * (self.identity - remap) - self.eyes[1:].permute(1, 2, 0)

    def resample(self, remap: torch.Tensor) -> torch.Tensor:
        """(S,S,2) backward map -> (1,3,S,S) float32 [0,255]: the target warped, overlay on top."""
        s = self.size
        where = ((remap + 0.5) / s * 2.0 - 1.0)[None]
        warped = F.grid_sample(
            self.target, where, mode="bilinear", padding_mode="reflection", align_corners=False
        )
        alpha = self.overlay[3:4][None]
        return warped + alpha * (self.overlay[None, :3] - warped)

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        return self.resample(self.apply_eyes(self.dense_map(fused)))
