"""The residual Phi on real tracked faces: zero where the transfer is exact, the numpy fast path
equals the torch network, and the shipped weights load as it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from reenact.fusion.residual import ResidualNetworkFusion
from reenact.fusion.transfer import TrainingFreeFusion
from reenact_lab.nn.fusion_residual import ResidualFusion
from reenact_lab.train.fusion_residual import fuse, point_scales
from tests.helpers import open_mouth_actor, residual_realisation_of

SIZE = 256


@pytest.fixture(scope="module")
def faces(clips_dir: Path) -> dict[str, np.ndarray]:
    """A real actor (its most open-mouthed frame and its neutral) and another person's neutral,
    tracked with the real face mesh: (478,3) aligned crop pixels each."""
    return open_mouth_actor(clips_dir, "lp_d1", frames=16, size=SIZE)


def _random_phi(seed: int = 0) -> ResidualFusion:
    torch.manual_seed(seed)
    phi = ResidualFusion(hidden=32, code=16, basis=4)
    for p in phi.parameters():
        torch.nn.init.normal_(p, std=0.1)
    return phi.eval()


def test_an_untrained_network_is_the_training_free_transfer(faces):
    network = ResidualNetworkFusion(
        model=residual_realisation_of(ResidualFusion(hidden=32, code=16, basis=4)), size=SIZE
    )
    args = (faces["source"], faces["neutral"], faces["target"])
    np.testing.assert_allclose(
        network.fuse(*args, 1.0), TrainingFreeFusion().fuse(*args, 1.0), atol=1e-4
    )


def test_the_correction_vanishes_for_a_neutral_actor_and_on_the_actors_own_face(faces):
    network = ResidualNetworkFusion(model=residual_realisation_of(_random_phi()), size=SIZE)
    source, neutral, target = faces["source"], faces["neutral"], faces["target"]
    moved = np.abs(network.correction(source, neutral, target)).max()
    assert moved > 0.01, (
        "a random network should correct a real expression (else this test is void)"
    )
    assert np.abs(network.correction(neutral, neutral, target)).max() < 1e-5
    assert np.abs(network.correction(source, neutral, neutral)).max() < 1e-5


def test_the_correction_is_linear_in_the_expression(faces):
    network = ResidualNetworkFusion(model=residual_realisation_of(_random_phi(1)), size=SIZE)
    source, neutral, target = faces["source"], faces["neutral"], faces["target"]
    half = neutral + 0.5 * (source - neutral)
    np.testing.assert_allclose(
        network.correction(half, neutral, target),
        0.5 * network.correction(source, neutral, target),
        atol=1e-4,
    )


def test_the_numpy_fast_path_equals_the_torch_network(faces):
    phi = _random_phi(2)
    network = ResidualNetworkFusion(model=residual_realisation_of(phi), size=SIZE)
    unit = [
        torch.from_numpy(faces[k][None] * np.float32(2 / SIZE))
        for k in ("source", "neutral", "target")
    ]
    for u in unit:
        u[..., :2] -= 1.0
    scales = torch.from_numpy(point_scales(TrainingFreeFusion(), unit[1].numpy(), unit[2].numpy()))
    with torch.no_grad():
        reference = fuse(phi, *unit, scales)[0].numpy()
    reference[:, :2] += 1.0
    reference *= SIZE / 2
    fused = network.fuse(faces["source"], faces["neutral"], faces["target"], 1.0)
    np.testing.assert_allclose(fused, reference, atol=1e-2)
