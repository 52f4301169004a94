"""A head turn folds the warp's mesh (the far cheek pressed against the nose, the outline pushed
into the hair): the warp draws the fold as a smooth edge, not as a dotted line of stray pixels.

Real portraits, their real face-mesh landmarks turned as the head motion turns them (about the
rigid points' centre), rendered by the real WarpRenderer. The measure: pixels of the face box that
differ from their own 5x5 median by more than 40 grey levels (isolated dots), beyond the count the
target picture itself has.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import reenact.render.field as field
from reenact.config import load_config
from reenact.landmarks.head_pose import RIGID_POINTS, rotate_mesh, rotation_matrix
from reenact.pipeline.target import prepare_target
from reenact.render import build_renderer

SIZE = 256


def _dots(image: np.ndarray, box: tuple[int, int, int, int]) -> int:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    x0, y0, x1, y1 = box
    off = np.abs(grey.astype(np.int16) - cv2.medianBlur(grey, 5).astype(np.int16))
    return int((off[y0:y1, x0:x1] > 40).sum())


@pytest.fixture(scope="module", params=["sadtalker_people_0.png", "lp_s42.jpg"])
def warp_target(request, portraits_dir: Path):
    config = load_config(None, ["renderer.kind=warp"])
    target = prepare_target(str(portraits_dir / request.param), config)
    warp = build_renderer(config)
    warp.set_target(target.crop, target.landmarks_crop)
    return target, warp


def _turned_dots(target, warp) -> list[int]:
    """Dots beyond the picture's own, at a 15 degree turn either way."""
    neutral = target.landmarks_crop.astype(np.float64)
    box = field.face_box(neutral[:, :2], SIZE)
    own = _dots(target.crop, box)
    centre = neutral[RIGID_POINTS, :3].mean(axis=0)
    return [_dots(warp.render(rotate_mesh(neutral, rotation_matrix(0.0, yaw, 0.0), centre)), box)
            - own for yaw in (-15.0, 15.0)]


def test_a_turned_head_has_no_dotted_fold(warp_target, monkeypatch):
    target, warp = warp_target
    assert max(_turned_dots(target, warp)) < 15
    monkeypatch.setattr(field, "STRAY_CELLS", float("inf"))  # every pre-image kept, as before
    assert max(_turned_dots(target, warp)) > 50  # the measure sees the dots


def test_a_smooth_warp_is_left_exactly_as_it_was(warp_target, monkeypatch):
    """No fold (the face moved and grown a little, the mouth opened): no sample is a stray."""
    target, warp = warp_target
    moved = target.landmarks_crop.astype(np.float64).copy()
    centre = moved[RIGID_POINTS, :2].mean(axis=0)
    moved[:, :2] = centre + 1.04 * (moved[:, :2] - centre) + [2.0, -1.5]
    moved[[14, 87, 178, 88, 95, 317, 402, 318, 324], 1] += 4.0  # the lower inner lip drops
    filtered = warp.render(moved).copy()
    monkeypatch.setattr(field, "STRAY_CELLS", float("inf"))
    np.testing.assert_array_equal(filtered, warp.render(moved))
