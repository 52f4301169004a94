"""A widened eye keeps its lid edge, and the iris it bares is round to its top.

A widening raises the fused upper lid. The warp moves the picture's lash line with it, but spread
over its coarse field it lags the lid landmarks (2 to 3 px at 256 for a lid raised 6 px), and the
iris painter fills the opening from the fused lid down: it covered the lash line, so a widened
eye showed the lid skin straight onto a pale cap, with no lid edge. The painter's plate also had
its iris disc filled over the lid where the picture's lid hides the iris. And the iris's hidden
top was completed from the point opposite the centre, the waterline and lower lid under it, so a
widening bared a pale arc across the iris's top, which the face mesh read as the lid.

Measured on real portraits tracked by the real face mesh, the upper lids raised by 0.2 eye widths
(`lab.drawn_moves`' eye move), when written (before -> after stop 67):

- the lid edge: mean |luminance| difference between the 4 px above the fused lid and the 4 px above
  the picture's own lid, over the middle half of each eye's columns: lp_s1 50.0 -> 13.2, lp_s30
  51.8 -> 16.1, lp_s5 37.6 -> 16.0 (28 portraits: 50.0 -> 25.9; at 0.1 eye widths 33.0 -> 22.8);
- the bared iris: the mean luminance of its edge ring's top (within 30 degrees of straight up)
  less that of its sides (within 30 degrees of level): sadtalker_people_0 +26.1 / +17.8 -> +1.3 /
  -1.2, lp_s0 +30.8 / +40.8 -> +1.4 / +6.1, lp_s3 +29.0 / +42.7 -> -4.3 / -1.7 (28 portraits' mean
  |difference| 17.9 -> 6.6).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reenact.landmarks.head_pose import EYE_RINGS, UPPER_LIDS
from reenact.render.warp import WarpRenderer
from reenact_lab.eval.move_sweep import moved
from tests.helpers import luma, tracked_iris

SIZE = 256
RAISE = 0.2  # eye widths the upper lids go up
ABOVE = np.arange(-4.0, 0.01, 0.5)  # px above the lid line sampled (the lash line and lid)
EDGE_OFF = 25.0  # grey levels the lid edge may differ from the picture's, on average
RING_OFF = 10.0  # grey levels the bared iris's top edge may differ from its sides


def _drawn(crop: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The warp's drawing of the portrait with its upper lids raised by RAISE, and those
    landmarks."""
    fused = moved(landmarks, "eyes", RAISE)
    warp = WarpRenderer(size=SIZE)
    warp.set_target(crop, landmarks)
    return warp.render(fused), fused


def _lid_profiles(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(columns, len(ABOVE)) luminance above each eye's upper lid line, middle half of its
    columns (the lid move keeps every point's x, so two faces' profiles line up)."""
    lum, rows, found = luma(image), np.arange(SIZE, dtype=np.float32), []
    for eye in (0, 1):
        ring = EYE_RINGS[eye]
        lo, hi = sorted((float(xy[ring[0], 0]), float(xy[ring[8], 0])))
        lid = xy[UPPER_LIDS[eye], :2]
        lid = lid[np.argsort(lid[:, 0])]
        for x in range(int(lo + 0.25 * (hi - lo)), int(hi - 0.25 * (hi - lo)) + 1):
            found.append(np.interp(np.interp(x, *lid.T) + ABOVE, rows, lum[:, x]))
    return np.array(found)


@pytest.mark.parametrize("name", ["lp_s1.jpg", "lp_s30.jpg", "lp_s5.jpg"])
def test_a_widened_eye_keeps_its_lid_edge(name, portraits_dir: Path, aligned_still):
    crop, landmarks = aligned_still(portraits_dir / name, SIZE)
    image, fused = _drawn(crop, landmarks)
    off = np.abs(_lid_profiles(image, fused) - _lid_profiles(crop, landmarks)).mean()
    assert off <= EDGE_OFF, f"{name}: the lid edge is {off:.1f} grey levels off the picture's"


@pytest.mark.parametrize("name", ["sadtalker_people_0.png", "lp_s0.jpg", "lp_s3.jpg"])
def test_a_bared_iris_is_round_to_its_top(name, portraits_dir: Path, aligned_still):
    crop, landmarks = aligned_still(portraits_dir / name, SIZE)
    image, fused = _drawn(crop, landmarks)
    lum = luma(image)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    for eye in (0, 1):
        centre, radius = tracked_iris(fused, eye)
        dx, dy = xs - centre[0], ys - centre[1]
        ring = (np.hypot(dx, dy) >= radius - 1.5) & (np.hypot(dx, dy) <= radius + 0.5)
        angle = np.degrees(np.arctan2(-dy, np.abs(dx)))  # 90 straight up, 0 level
        top, sides = lum[ring & (angle > 60)].mean(), lum[ring & (np.abs(angle) < 30)].mean()
        assert abs(top - sides) <= RING_OFF, (
            f"{name} eye {eye}: the iris's top edge {top:.1f}, its sides {sides:.1f}"
        )
