"""The landmark image J_gen drawn by torch, on whatever device the generator runs on.

`draw_landmark_image` (cv2) draws the training images and the CPU path's live ones; this module
draws the same contours on the GPU so that a CUDA frame never leaves the device between the
fused landmarks and the generator. Each polyline segment gets a fixed window of pixels around
it; a pixel's value is a function of its distance from the segment: the profile of cv2's
anti-aliased lines, read off `cv2.polylines` and stored as a table in steps of 1/4 px,
interpolated linearly between entries (1 px lines measure the distance across their minor
axis, as cv2 draws them). Overlapping segments combine as cv2 blends them (1 - prod(1 - a)).
Shapes depend only on the crop size, so the drawing can be captured in a CUDA graph.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from reenact.landmarks.landmark_image import line_thickness
from reenact.landmarks.regions import CONTOURS

# The longest contour segment in an aligned crop is under 10 % of the side (the face oval;
# 21.4 px at 256 on real faces). Each segment is cut into `pieces`, each drawn in a window that
# holds a piece of that length.
_MAX_SEGMENT = 0.1
_STEP = 0.25  # px between entries of the profiles below
# cv2 LINE_AA value (of 255) at distance 0, 1/4, 1/2, ... px from a 1 px line's centre; a
# thicker line is 255 up to (thickness - 1) px and then falls off as the second row says.
_PROFILE_THIN = (232, 217, 177, 118, 55, 18, 0)
_PROFILE_EDGE = (255, 236, 200, 118, 55, 18, 0)


def _segments() -> tuple[np.ndarray, np.ndarray]:
    """(K,) start and end landmark indices of every contour segment."""
    starts = np.concatenate([c[:-1] for c in CONTOURS])
    ends = np.concatenate([c[1:] for c in CONTOURS])
    return starts, ends


class LandmarkRaster(torch.nn.Module):
    """points (478,2|3) crop pixels on the module's device -> (S,S) float32 in [0, 1].

    size: crop side. pieces: sub-segments per contour segment (each drawn in its own window).
    """

    def __init__(self, size: int, *, pieces: int = 4) -> None:
        super().__init__()
        self.size = int(size)
        thickness = line_thickness(self.size)
        self.thin = thickness == 1
        if self.thin:
            profile = list(_PROFILE_THIN)
        else:
            profile = [255] * int(round((thickness - 1) / _STEP)) + list(_PROFILE_EDGE)
        profile += [0, 0]  # the lookup reads one entry past the last distance in reach
        self.reach = (len(profile) - 3) * _STEP  # value 0 from here on
        table = torch.tensor(profile, dtype=torch.float32) / 255.0
        self.register_buffer("profile", table, persistent=False)
        starts, ends = _segments()
        t = torch.linspace(0.0, 1.0, pieces + 1)
        self.register_buffer("starts", torch.from_numpy(starts), persistent=False)
        self.register_buffer("ends", torch.from_numpy(ends), persistent=False)
        self.register_buffer("t0", t[:-1].clone(), persistent=False)
        self.register_buffer("t1", t[1:].clone(), persistent=False)
        window = int(math.ceil(_MAX_SEGMENT * self.size / pieces + 2 * self.reach)) + 2
        self.window = window
        offsets = torch.arange(window, dtype=torch.float32)
        self.register_buffer("offsets", offsets, persistent=False)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        s, w = self.size, self.window
        xy = points[:, :2].float()
        a, b = xy[self.starts], xy[self.ends]  # (K,2)
        d = b - a
        p0 = a[:, None] + self.t0[None, :, None] * d[:, None]  # (K,P,2)
        p1 = a[:, None] + self.t1[None, :, None] * d[:, None]
        p0, p1 = p0.reshape(-1, 2), p1.reshape(-1, 2)
        corner = torch.floor(torch.minimum(p0, p1) - self.reach)  # (N,2) window origin
        px = corner[:, 0:1, None] + self.offsets[None, None, :]  # (N,1,W)
        py = corner[:, 1:2, None] + self.offsets[None, :, None]  # (N,W,1)
        seg = p1 - p0
        length2 = (seg * seg).sum(-1).clamp_min(1e-12)[:, None, None]
        u = (
            (px - p0[:, 0, None, None]) * seg[:, 0, None, None]
            + (py - p0[:, 1, None, None]) * seg[:, 1, None, None]
        ) / length2
        u = u.clamp(0.0, 1.0)
        dx = px - (p0[:, 0, None, None] + u * seg[:, 0, None, None])
        dy = py - (p0[:, 1, None, None] + u * seg[:, 1, None, None])
        dist = torch.sqrt(dx * dx + dy * dy)
        if self.thin:  # cv2 draws 1 px AA lines across their minor axis (Wu's lines)
            major = torch.maximum(seg[:, 0].abs(), seg[:, 1].abs()).clamp_min(1e-6)
            dist = dist * (torch.sqrt(length2[:, 0, 0]) / major)[:, None, None]
        at = (dist / _STEP).clamp(max=float(len(self.profile) - 2))  # (N,W,W)
        low = at.floor()
        frac = at - low
        low = low.long()
        value = self.profile[low] * (1.0 - frac) + self.profile[low + 1] * frac
        inside = (px >= 0) & (px < s) & (py >= 0) & (py < s)
        value = torch.where(inside, value, torch.zeros_like(value))
        index = (py.clamp(0, s - 1) * s + px.clamp(0, s - 1)).long().expand(-1, w, w)
        # 1 - prod(1 - a): a sum of log(1 - a), the way cv2 blends overlapping AA lines
        keep = torch.log1p(-value.clamp(max=1.0 - 1e-4).reshape(-1))
        total = torch.zeros(s * s, device=points.device, dtype=torch.float32)
        total.index_add_(0, index.reshape(-1), keep)
        return (1.0 - torch.exp(total)).view(s, s)
