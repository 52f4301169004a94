"""A head turn folds the warp's mesh (the far cheek pressed against the nose, the outline pushed
into the hair): the warp draws the fold as a smooth edge, not as a dotted line of stray pixels,
and under the fold it shows the surface nearest the camera, not the flipped side of the nose.

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
import reenact.render.field_memo as field_memo
from reenact.config import load_config
from reenact.landmarks.head_pose import RIGID_POINTS, rotate_mesh, rotation_matrix
from reenact.landmarks.regions import TRIANGLES
from reenact.pipeline.head_motion import turn_centre
from reenact.pipeline.target import prepare_target
from reenact.render import build_renderer
from reenact.render.mesh_search import signed_areas

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
    return [
        _dots(warp.render(rotate_mesh(neutral, rotation_matrix(0.0, yaw, 0.0), centre)), box) - own
        for yaw in (-15.0, 15.0)
    ]


def _keep_every_pre_image(monkeypatch) -> None:
    """The field as before the stray filter; a fresh memo, or the filtered fields come back."""
    monkeypatch.setattr(field, "STRAY_CELLS", float("inf"))
    monkeypatch.setattr(field_memo, "BACKWARDS", field_memo.BackwardMemo())


def test_a_turned_head_has_no_dotted_fold(warp_target, monkeypatch):
    target, warp = warp_target
    assert max(_turned_dots(target, warp)) < 15
    _keep_every_pre_image(monkeypatch)
    assert max(_turned_dots(target, warp)) > 50  # the measure sees the dots


def test_a_smooth_warp_is_left_exactly_as_it_was(warp_target, monkeypatch):
    """No fold (the face moved and grown a little, the mouth opened): no sample is a stray."""
    target, warp = warp_target
    moved = target.landmarks_crop.astype(np.float64).copy()
    centre = moved[RIGID_POINTS, :2].mean(axis=0)
    moved[:, :2] = centre + 1.04 * (moved[:, :2] - centre) + [2.0, -1.5]
    moved[[14, 87, 178, 88, 95, 317, 402, 318, 324], 1] += 4.0  # the lower inner lip drops
    filtered = warp.render(moved).copy()
    _keep_every_pre_image(monkeypatch)
    np.testing.assert_array_equal(filtered, warp.render(moved))


def _hidden_samples(warp, neutral: np.ndarray, turned: np.ndarray, depth) -> int:
    """Samples of the warp's inverse field that read the picture where a triangle facing the
    camera there faces away after the turn (well inside it: the mask is eroded by a pixel)."""
    before = signed_areas(neutral[:, :2], TRIANGLES)
    canon = np.sign(before.sum())  # the side the camera-facing triangles' areas have
    before = before * canon
    after = signed_areas(turned[:, :2].astype(np.float64), TRIANGLES) * canon
    hidden = np.zeros((SIZE, SIZE), np.uint8)
    for tri in TRIANGLES[(before > 1e-2) & (after < 0.0)]:
        cv2.fillConvexPoly(hidden, np.round(neutral[tri, :2] * 16).astype(np.int32), 1, shift=4)
    hidden = cv2.erode(hidden, np.ones((3, 3), np.uint8))
    mesh = warp._field
    xy = warp.follow(turned)
    back = mesh.backward(mesh.forward(xy[:468] - warp._target_xy[:468]), warp.iterations, depth)
    read = np.round(mesh.points + back).astype(int).clip(0, SIZE - 1)
    return int(hidden[read[..., 1], read[..., 0]].sum())


def test_under_a_fold_the_warp_shows_the_front_of_the_nose(warp_target):
    """At a 24 degree turn the side of the nose turns away and folds over the far cheek; with
    the fused landmarks' depth, the warp reads the picture's front of the nose there, not the
    side that turned away (drawn squeezed, it was a dark crack from the eye to the nostril)."""
    target, warp = warp_target
    neutral = target.landmarks_crop.astype(np.float64)
    with_depth = without = 0
    for yaw in (-24.0, 24.0):
        turned = rotate_mesh(neutral, rotation_matrix(0.0, yaw, 0.0), turn_centre(neutral))
        turned = turned.astype(np.float32)
        without += _hidden_samples(warp, neutral, turned, None)
        with_depth += _hidden_samples(warp, neutral, turned, turned[:468, 2].astype(np.float64))
    assert without >= 20  # the measure sees the flipped side drawn
    assert with_depth <= 0.6 * without


def test_the_torch_warp_shows_the_same_front_layer(warp_target, monkeypatch):
    """The GPU path's copy of the step (every sample against every triangle, fixed shapes)
    matches the CPU warp at a turn that folds the nose, and without depth it draws what it did."""
    torch = pytest.importorskip("torch")
    from reenact.render.warp_torch import TorchWarp

    target, warp = warp_target
    neutral = target.landmarks_crop.astype(np.float64)
    turned = rotate_mesh(neutral, rotation_matrix(0.0, 24.0, 0.0), turn_centre(neutral))
    turned = turned.astype(np.float32)
    gpu = TorchWarp(size=SIZE, grid=warp._field.grid)
    gpu.set_target(warp)
    xy = warp.follow(turned)
    with torch.no_grad():
        maps = [
            gpu.dense_map(torch.from_numpy(lm)).numpy()
            for lm in (np.column_stack([xy, turned[:, 2]]), xy)
        ]
    x0, y0, x1, y1 = warp._field.roi
    # dense_map is the map before the eyeballs' move and the lips' band map (both planes)
    monkeypatch.setattr(warp, "corrections", [c for c in warp.corrections if not c.reshapes])
    for lm, got in zip((turned, turned[:, :2]), maps):
        expected = warp.backward_map(xy, None if lm.shape[1] < 3 else lm[:, 2].astype(np.float64))[
            0
        ]
        diff = np.abs(got[y0:y1, x0:x1] - expected).max(axis=2)
        assert np.percentile(diff, 99.5) < 0.5  # pixels: the same sample picks
    assert np.abs(maps[0] - maps[1]).max() > 2.0  # the depth changed the fold's picks
