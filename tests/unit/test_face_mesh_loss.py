"""The lab's face-specific feature loss (`reenact_lab.nn.face_mesh`): MediaPipe's face-mesh model
run in torch finds a real face as the live tracker does, and its early features tell a sharp
region from a blurred one."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from reenact.config import load_config
from reenact.landmarks.tracker import FaceTracker

face_mesh = pytest.importorskip("reenact_lab.nn.face_mesh")


@pytest.fixture(scope="module")
def mesh():
    return face_mesh.FaceMesh()


def _face_square(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(2,3) image -> 192 px square matrix: the mesh's box grown 1.5 times, eyes level."""
    left, right = points[33], points[263]
    angle = np.arctan2(right[1] - left[1], right[0] - left[0])
    cos, sin = np.cos(angle), np.sin(angle)
    level = (points - points.mean(0)) @ np.array([[cos, -sin], [sin, cos]])
    scale = face_mesh.MESH_INPUT / (1.5 * max(np.ptp(level[:, 0]), np.ptp(level[:, 1])))
    matrix = np.array([[cos, sin, 0.0], [-sin, cos, 0.0]]) * scale
    matrix[:, 2] = face_mesh.MESH_INPUT / 2 - matrix[:, :2] @ points.mean(0)
    return matrix


@pytest.mark.parametrize("name", ["lp_s42.jpg", "lp_drv_d19.jpg"])
def test_the_torch_face_mesh_finds_the_face_the_tracker_finds(mesh, portraits_dir, name):
    image = cv2.cvtColor(cv2.imread(str(portraits_dir / name)), cv2.COLOR_BGR2RGB)
    with FaceTracker(load_config(None).tracker, static=True) as tracker:
        points = tracker.track_one(image)[:468, :2]
    matrix = _face_square(image, points)
    size = face_mesh.MESH_INPUT
    square = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR)
    x = torch.from_numpy(square).permute(2, 0, 1)[None].float() / 255.0
    with torch.no_grad():
        found, logit = mesh(x)
    back = (found[0, :, :2].numpy() - matrix[:, 2]) @ np.linalg.inv(matrix[:, :2]).T
    iod = float(np.hypot(*(points[263] - points[33])))
    error = np.median(np.hypot(*(back - points).T)) / iod
    # the tracker's own crop differs and it runs the attention model: close, not equal
    assert error < 0.03, error
    assert float(logit[0]) > 0.0  # a face


def test_the_feature_loss_is_zero_on_the_real_region_and_grows_as_it_blurs(mesh, portraits_dir):
    image = cv2.cvtColor(cv2.imread(str(portraits_dir / "lp_s42.jpg")), cv2.COLOR_BGR2RGB)
    region = cv2.resize(image, (384, 384))[200:264, 140:236]  # about the mouth box's size
    real = torch.from_numpy(region).permute(2, 0, 1)[None].float() / 127.5 - 1.0
    losses = []
    for sigma in (0.0, 0.7, 1.5, 3.0):
        blurred = region if sigma == 0 else cv2.GaussianBlur(region, (0, 0), sigma)
        out = torch.from_numpy(blurred).permute(2, 0, 1)[None].float() / 127.5 - 1.0
        out.requires_grad_(True)
        loss = face_mesh.mesh_feature_loss(mesh, out, real)
        loss.backward()
        losses.append(float(loss))
        assert sigma == 0 or float(out.grad.abs().sum()) > 0.0
    assert losses[0] < 1e-6
    assert losses[1] < losses[2] < losses[3], losses
