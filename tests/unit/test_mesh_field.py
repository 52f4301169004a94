"""MeshField.sample reads the coarse grid where its samples sit (the CPU warp and its torch copy).

Sample (i, j) of the grid sits at pixel (x0 + (j+0.5) w/G - 0.5, y0 + (i+0.5) h/G - 0.5);
sampling any grid array at those very pixels must give the array back. A sign error in the
pixel -> grid offset read the grid (1 - G/w) cells off (about 0.6 cells at G=64, w=160).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from reenact.config.schema import TrackerConfig
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.tracker import detect_target_face
from reenact.render.field import MeshField
from reenact.render.warp import WarpRenderer
from reenact.render.warp_torch import TorchWarp

GRID = 64


def _square_field(roi: tuple[int, int, int, int]) -> MeshField:
    x0, y0, x1, y1 = roi
    points = np.array(
        [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [(x0 + x1) / 2, (y0 + y1) / 2]], np.float64
    )
    triangles = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]], np.int32)
    return MeshField(points=points, triangles=triangles, num_free=1, roi=roi, grid=GRID)


@pytest.mark.parametrize("roi", [(40, 30, 200, 190), (10, 20, 230, 180)])
def test_sampling_the_grid_at_its_own_samples_gives_it_back(roi):
    field = _square_field(roi)
    values = np.ascontiguousarray(field.points)  # (G,G,2): each sample's own pixel position
    got = field.sample(values, field._px, field._py)
    inner = slice(1, GRID - 1)  # bilinear is exact for a linear ramp away from the border
    np.testing.assert_allclose(got[inner, inner], values[inner, inner], atol=1e-3)


def test_the_torch_warp_samples_the_grid_where_the_cpu_warp_does(portraits_dir):
    image = cv2.cvtColor(cv2.imread(str(portraits_dir / "lp_s11.jpg")), cv2.COLOR_BGR2RGB)
    landmarks = detect_target_face(image, TrackerConfig(), source_name="lp_s11.jpg")
    alignment = compute_alignment(landmarks, 256)
    cpu = WarpRenderer(size=256)
    cpu.set_target(alignment.crop_image(image), alignment.landmarks_to_crop(landmarks))
    warp = TorchWarp(size=256, grid=cpu._field.grid)
    warp.set_target(cpu)
    field = cpu._field
    g = field.grid
    values = torch.from_numpy(np.ascontiguousarray(field.points)).permute(2, 0, 1)[None]
    got = warp._sample(values, torch.from_numpy(field._px), torch.from_numpy(field._py))
    got = got.permute(1, 2, 0).numpy()
    inner = slice(1, g - 1)
    np.testing.assert_allclose(got[inner, inner], field.points[inner, inner], atol=1e-2)


def test_each_triangles_neighbours_are_those_sharing_a_vertex(portraits_dir):
    """`vertex_neighbours` (numpy) against the definition, on a real face's triangulation."""
    from reenact.render.field import face_triangulation
    from reenact.render.mesh_search import vertex_neighbours

    image = cv2.cvtColor(cv2.imread(str(portraits_dir / "lp_s0.jpg")), cv2.COLOR_BGR2RGB)
    landmarks = detect_target_face(image, TrackerConfig(), source_name="lp_s0.jpg")
    xy = compute_alignment(landmarks, 256).landmarks_to_crop(landmarks)
    _, triangles = face_triangulation(np.asarray(xy[:, :2], np.float64), 256)
    found = vertex_neighbours(triangles)
    for t, tri in enumerate(triangles):
        expected = sorted({u for u, other in enumerate(triangles) if set(tri) & set(other)})
        row = found[t]
        assert row[: len(expected)].tolist() == expected
        assert (row[len(expected) :] == -1).all()
    assert found.shape[1] == max(np.isin(triangles, tri).any(axis=1).sum() for tri in triangles)


def test_a_points_boxed_candidates_give_the_triangle_every_triangle_gives(portraits_dir):
    """`boxed` narrows the search for the samples the rasteriser missed: on a real face's
    triangulation it finds, for any point, the triangle a search of every triangle finds."""
    from reenact.render.field import face_triangulation
    from reenact.render.mesh_search import boxed, locate

    image = cv2.cvtColor(cv2.imread(str(portraits_dir / "lp_s0.jpg")), cv2.COLOR_BGR2RGB)
    landmarks = detect_target_face(image, TrackerConfig(), source_name="lp_s0.jpg")
    xy = compute_alignment(landmarks, 256).landmarks_to_crop(landmarks)
    points, triangles = face_triangulation(np.asarray(xy[:, :2], np.float64), 256)
    rng = np.random.default_rng(0)
    # anywhere, and on the mesh's own points and edges, where a box's edge is the tightest
    query = np.concatenate(
        [
            rng.uniform(-5, 261, (2000, 2)),
            points,
            (points[triangles[:, 0]] + points[triangles[:, 1]]) / 2,
        ]
    )
    every = np.broadcast_to(np.arange(len(triangles)), (len(query), len(triangles)))
    expected = locate(points, triangles, query, every)
    assert (expected >= 0).mean() > 0.9
    np.testing.assert_array_equal(
        locate(points, triangles, query, boxed(points, triangles, query)), expected
    )


def test_a_map_asked_for_a_box_is_the_whole_maps_there(portraits_dir):
    """`field_map` with a box (the face bank's part boxes) works out the grid samples that box
    reads, and one more round them for the strays' 3x3 step: its pixels there are the whole
    map's, under a move that folds the mesh (the lower lip pushed past the upper)."""
    from reenact.landmarks.regions import REGIONS
    from reenact.render.field import face_field, identity_map
    from reenact.render.warp import field_map

    image = cv2.cvtColor(cv2.imread(str(portraits_dir / "lp_s0.jpg")), cv2.COLOR_BGR2RGB)
    landmarks = detect_target_face(image, TrackerConfig(), source_name="lp_s0.jpg")
    xy = np.asarray(compute_alignment(landmarks, 256).landmarks_to_crop(landmarks), np.float32)
    field = face_field(xy[:, :2], 256, grid=GRID)
    moved = xy[:, :2] + np.float32([3.0, 2.0])  # every sample moves: each one read counts
    moved[REGIONS["lips_outer"], 1] -= 14.0  # the lips up over the nose: a fold
    moved[REGIONS["left_eye"], 0] += 6.0
    identity = identity_map(256)
    whole, _ = field_map(field, xy[:, :2], moved, 3, identity, identity.copy(), shared=False)
    x0, y0 = field.roi[:2]
    for box in [(100, 150, 160, 200), (60, 90, 120, 130), (0, 0, 40, 40), (200, 180, 256, 256)]:
        out = np.full((256, 256, 2), -7.0, np.float32)
        field_map(field, xy[:, :2], moved, 3, identity, out, shared=False, box=box)
        bx0, by0 = max(box[0], field.roi[0]), max(box[1], field.roi[1])
        bx1, by1 = min(box[2], field.roi[2]), min(box[3], field.roi[3])
        np.testing.assert_array_equal(
            out[by0:by1, bx0:bx1], whole[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0]
        )
        outside = np.ones((256, 256), bool)
        outside[by0:by1, bx0:bx1] = False
        assert (out[outside] == -7.0).all()  # nothing else was worked out
