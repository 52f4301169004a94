"""What a moved head uncovers: is the wall where the head was as clean as the wall beside it?

The head-motion stage (`reenact.pipeline.head_region.HeadRegion`) moves the target's head over a
clean plate, the frame with the head inpainted. Whatever of the head it does not move stays
where it was: a segmentation that stops short of the hair's loose ends, or the dark fringe of a
soft hair edge, leaves a dotted, jagged ghost of the old outline on the wall beside the moved
head. `background_change` (`reenact_lab.eval.background`) does not see it: the ghost lies within the
head's reach.

`uncovered_outline(output, person, matrix, iod, top)` measures one moved frame against the
picture's person silhouette `person` (MediaPipe's selfie segmentation, thresholded; the same for
every pipeline, so the measure does not grade the matte it judges):

- the old outline's band: the pixels outside the silhouette within BAND x IOD of it, above
  `top` (the mouth: below it the shoulders stay put by design), and further than BAND x IOD
  from the silhouette moved by `matrix` (what the head uncovered, not where it went);
- the wall beside it: the pixels 2 to 3 BAND x IOD outside the silhouette, under the same two
  conditions;
- `ghost_rate`: the share of the band's pixels whose grey-level gradient (Sobel, levels per
  pixel) is above the wall's 95th percentile, and at least EDGE_FLOOR: ~0.05 or less when the
  uncovered wall is as smooth as the wall beside it, more where a ghost outline is left.

`sweep_uncovered(target)` moves the target's head by MOVES (shifts of 0.3 and 0.2 IOD, rolls of
8 degrees, about the eyes, as the live loop's "full" head motion does) and returns the mean
rate with the moved frames for a strip. It needs no renderer: the head-motion stage is the same
for all of them. Loose hair on a plain wall is what the segmenter's mask as it comes leaves a
ghost of, and the mask matted to the picture does not (`tests/integration/test_head_plate.py`).
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.pipeline.head_motion import HeadPose
from reenact.pipeline.head_region import HeadRegion, person_mask

BAND = 0.15  # IOD: the outline's band, and the wall's (2 to 3 x) beside it
EDGE_FLOOR = 2.0  # grey levels per pixel: below this no pixel counts as an edge
WALL_PERCENTILE = 95.0
MIN_PIXELS = 50  # fewer band or wall pixels than this: NaN (nothing uncovered, no wall)
# (dx, dy) shift in IOD, roll in degrees: what the head does in `sweep_uncovered`
MOVES = (
    ((0.3, 0.0), 0.0),
    ((-0.3, 0.0), 0.0),
    ((0.0, -0.2), 0.0),
    ((0.0, 0.0), 8.0),
    ((0.0, 0.0), -8.0),
)


def move_labels() -> list[str]:
    """A short label per move of MOVES, e.g. "x +0.3 IOD", "roll -8"."""
    labels = []
    for (dx, dy), roll in MOVES:
        if roll:
            labels.append(f"roll {roll:+.0f}")
        else:
            labels.append(f"x {dx:+.1f} IOD" if dx else f"y {dy:+.1f} IOD")
    return labels


def _square_around(box: tuple[int, int, int, int], shape: tuple[int, ...]) -> tuple[slice, slice]:
    """A square (rows, cols) cut of a frame of `shape` around `box` (x0, y0, x1, y1), as wide as
    its longer side allows within the frame."""
    x0, y0, x1, y1 = box
    side = min(max(x1 - x0, y1 - y0), shape[0], shape[1])
    left = int(np.clip((x0 + x1 - side) // 2, 0, shape[1] - side))
    top = int(np.clip((y0 + y1 - side) // 2, 0, shape[0] - side))
    return slice(top, top + side), slice(left, left + side)


def _gradient(image: np.ndarray) -> np.ndarray:
    """(H,W) float32 grey-level gradient magnitude of an RGB uint8 image, levels per pixel."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    return cv2.magnitude(gx, gy)


def uncovered_outline(
    output: np.ndarray, person: np.ndarray, matrix: np.ndarray, iod: float, top: float
) -> float:
    """The ghost rate of one moved frame (see the module); NaN when the band or the wall has
    fewer than MIN_PIXELS pixels.

    output: (H,W,3) uint8 RGB, the frame with the head moved; person: (H,W) bool, the picture's
    person before the move; matrix: (2,3) the head's move in frame pixels; iod: the face's
    inter-ocular distance in frame pixels; top: the frame row below which nothing is measured.
    """
    h, w = person.shape
    if output.shape[:2] != (h, w):
        raise ValueError(f"uncovered_outline: output {output.shape}, person {person.shape}")
    inside = person.astype(np.uint8)
    moved = cv2.warpAffine(inside, np.asarray(matrix, np.float64), (w, h), flags=cv2.INTER_NEAREST)
    off_old = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5)
    off_new = cv2.distanceTransform(1 - moved, cv2.DIST_L2, 5)
    band = BAND * iod
    free = off_new > band
    free[max(0, int(top)) :] = False
    outline = (off_old > 0) & (off_old <= band) & free
    wall = (off_old > 2 * band) & (off_old <= 3 * band) & free
    if outline.sum() < MIN_PIXELS or wall.sum() < MIN_PIXELS:
        return float("nan")
    grad = _gradient(output)
    edge = max(EDGE_FLOOR, float(np.percentile(grad[wall], WALL_PERCENTILE)))
    return float(np.mean(grad[outline] > edge))


def sweep_uncovered(target, *, matte: bool = True) -> dict:
    """Move `target`'s head (a `reenact.pipeline.target.PreparedTarget`) by MOVES.

    {"ghost_rate": mean over the moves (NaN: the segmenter finds no person holding the face, as
    on an animal, where the whole head zone moves and there is no outline to judge),
    "per_move": [rate], "frames": the moved frames cut square around the head (for a strip; not
    JSON)}.
    matte: passed to `HeadRegion` (False: the segmenter's mask as it comes)."""
    nothing = {"ghost_rate": float("nan"), "per_move": [], "frames": []}
    mask = person_mask(target.frame)
    if mask is None:
        return nothing
    region = HeadRegion(
        target.frame, target.alignment, target.landmarks_crop, matte=matte, person=mask
    )
    if region.box is None or not region.segmented:
        return nothing
    rows, cols = _square_around(region.box, target.frame.shape)
    person = mask > 0.5
    top = float(target.alignment.landmarks_to_image(target.landmarks_crop)[13, 1])  # the mouth
    rates, frames = [], []
    for shift, roll in MOVES:
        matrix = region.matrix_for(HeadPose(roll=roll, shift=shift), about="eyes")
        output = region.move(target.frame, matrix)
        rates.append(uncovered_outline(output, person, matrix, region.iod, top))
        frames.append(output[rows, cols].copy())
    finite = [r for r in rates if np.isfinite(r)]
    return {
        "ghost_rate": float(np.mean(finite)) if finite else float("nan"),
        "per_move": rates,
        "frames": frames,
    }
