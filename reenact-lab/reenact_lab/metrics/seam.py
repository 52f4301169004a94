"""The seam of a pasted face: the step across the compositor's blend boundary.

The compositor (`reenact.pipeline.composite.Compositor`) blends the rendered crop into the frame
with an alpha mask that is 1 on the face and fades to 0 outside it. Where the pasted pixels and
the frame around them disagree, a viewer sees a seam. Measured on a thin band along the mask's
edge (its 0.5 level line, `half_width` pixels either side), on d = composite - real frame:

- colour: |local mean of d| on the band (a brightness or colour shift of the pasted face; texture
  differences average out);
- step:   |mean of d just inside the edge - mean of d just outside| (the jump across the edge,
  i.e. the gradient of the composite against the gradient of the real frame there: a hard paste
  jumps at once, a feathered one spreads the same shift over the fade).

seam = mean over the band of (colour + step), channel-averaged, in units of the full range (0..1):
0 for the real frame pasted onto itself (up to resampling), ~0.06 for a +15 % brighter face
feathered, more without feathering.
"""

from __future__ import annotations

import cv2
import numpy as np


def edge_band(mask: np.ndarray, half_width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(band, inner, outer) bool maps of one (h, w) blend mask in [0, 1].

    band: within `half_width` px of the mask's 0.5 level line; inner / outer: its parts inside
    and outside the line. A 1-px frame border is left out (the paste box may be cut by the frame).
    """
    inside = (np.asarray(mask) >= 0.5).astype(np.uint8)
    to_edge_in = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    to_edge_out = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
    inner = (inside == 1) & (to_edge_in <= half_width)
    outer = (inside == 0) & (to_edge_out <= half_width)
    keep = np.zeros(inside.shape, bool)
    keep[1:-1, 1:-1] = True
    return (inner | outer) & keep, inner & keep, outer & keep


def _local_mean(values: np.ndarray, weights: np.ndarray, window: int) -> np.ndarray:
    """Weighted box mean of (h, w, C) values over a window; 0 where no weight falls."""
    w = weights.astype(np.float32)
    num = cv2.boxFilter(
        values * w[..., None], -1, (window, window), normalize=False, borderType=cv2.BORDER_CONSTANT
    )
    den = cv2.boxFilter(w, -1, (window, window), normalize=False, borderType=cv2.BORDER_CONSTANT)
    return num / np.maximum(den, 1e-6)[..., None]


def seam_parts(
    composite: np.ndarray, real: np.ndarray, mask: np.ndarray, *, half_width: int
) -> dict[str, float]:
    """{"seam", "colour", "step"} of one composite against the real frame.

    composite, real: (h, w, 3) uint8, the paste box of the composited and of the real frame;
    mask: (h, w) float in [0, 1], the blend alpha over that box; half_width: band half width in
    px (>= 1). NaN when the mask has no edge inside the box.
    """
    if composite.shape != real.shape or composite.shape[:2] != mask.shape:
        raise ValueError(f"seam: shapes differ {composite.shape} {real.shape} {mask.shape}")
    half_width = max(1, int(half_width))
    band, inner, outer = edge_band(mask, half_width)
    if not inner.any() or not outer.any():
        return {"seam": float("nan"), "colour": float("nan"), "step": float("nan")}
    d = composite.astype(np.float32) - real.astype(np.float32)
    window = 4 * half_width + 1
    colour = np.abs(_local_mean(d, band, window)).mean(axis=-1)
    step = np.abs(_local_mean(d, inner, window) - _local_mean(d, outer, window)).mean(axis=-1)
    colour, step = float(colour[band].mean() / 255.0), float(step[band].mean() / 255.0)
    return {"seam": colour + step, "colour": colour, "step": step}
