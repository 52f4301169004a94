"""A glance leaves no edge where the iris was.

The iris painter moves the target's iris over a "sclera plate": the eye with its iris disc
filled in. Filled with one colour (the bright half of the visible white) and cut a pixel past
MediaPipe's iris ring, the disc showed, wherever the iris left it, a crescent with an edge: pale
on a dark-eyed dog (the colour of the fur at its lid), paler than the white beside it on a
painting, and ringed by the rest of a large or cartoon iris that reaches past the tracked ring.

On real portraits tracked by the real face mesh, both irises moved 0.12 eye widths each way (the
gaze sweep's widest), the mean luma gradient (Sobel, per grey level and pixel) over what the
iris uncovered must stay under EDGE: inside the fused opening less 2 px at its edge, within 4 px
of the tracked iris radius around the old centre and more than 4.5 px from the new one (so the
drawn iris's own edge, wherever the painter ends it, is left out). Measured when written, before
/ after: lp_s31 (a dog) 30.0 / 9.7, lp_s7 (a cartoon) 26.0 / 2.4, lp_s10 (a painting) 24.9 /
2.7; over 23 portraits 17.2 / 11.2 on average, none worse by more than 0.5.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reenact_lab.eval.gaze_sweep import looking
from reenact.landmarks.head_pose import EYE_RINGS
from reenact.render.paint import fill_aa
from reenact.render.warp import WarpRenderer
from tests.helpers import luma, tracked_iris

SIZE = 256
GLANCE = 0.12  # eye widths along the eye, each way
EDGE = 15.0  # mean luma gradient over what the iris uncovered


def _gradient(image: np.ndarray) -> np.ndarray:
    grey = luma(image)
    dx, dy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    return np.hypot(dx, dy) / 8.0


def _uncovered(xy: np.ndarray, fused: np.ndarray, eye: int) -> np.ndarray:
    """(S,S) bool: the part of the target's iris (and its rim) the moved iris left uncovered."""
    mask = np.zeros((SIZE, SIZE), np.uint8)
    fill_aa(mask, fused[EYE_RINGS[eye], :2], (0, 0))
    inside = cv2.erode((mask > 127).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    old, radius = tracked_iris(xy, eye)
    new, _ = tracked_iris(fused, eye)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]
    return (
        inside
        & (np.hypot(xs - old[0], ys - old[1]) <= radius + 4.0)
        & (np.hypot(xs - new[0], ys - new[1]) >= radius + 4.5)
    )


@pytest.mark.parametrize("name", ["lp_s31.jpg", "lp_s7.jpg", "lp_s10.jpg"])
def test_a_glance_leaves_no_edge_where_the_iris_was(aligned_still, portraits_dir, name):
    crop, xy = aligned_still(portraits_dir / name, SIZE)
    warp = WarpRenderer(size=SIZE)
    warp.set_target(crop, xy)
    edges = []
    for along in (-GLANCE, GLANCE):
        fused = looking(xy, along, 0.0)
        gradient = _gradient(warp.render(fused))
        for eye in (0, 1):
            region = _uncovered(np.asarray(xy, np.float32), fused, eye)
            if region.sum() >= 8:
                edges.append(float(gradient[region].mean()))
    assert len(edges) >= 2, f"{name}: too little of the eyes uncovered to measure"
    assert np.mean(edges) < EDGE, f"{name}: the glance leaves an edge, {np.round(edges, 1)}"
