"""The fusion networks' numpy forward passes (`reenact.fusion.mlp`) equal their torch modules on
real tracked faces, and weights read as numpy arrays equal what torch reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from reenact.config import load_config
from reenact.engine.arrays import check_arrays, load_arrays, read_meta
from reenact.engine.shipped import MODELS_DIR
from reenact.engine.weights import load_weights, save_module
from reenact.errors import WeightsError
from reenact.fusion.mlp import FusionAE
from reenact.fusion.network import NetworkFusion
from reenact_lab.nn.fusion import LandmarkFusionAE, crop_to_unit
from reenact_lab.nn.fusion_residual import ResidualFusion
from tests.helpers import fusion_ae_of, open_mouth_actor, residual_realisation_of

SIZE = 256


@pytest.fixture(scope="module")
def faces(clips_dir: Path) -> dict[str, np.ndarray]:
    return open_mouth_actor(clips_dir, "lp_d1", frames=16, size=SIZE)


def _randomised(module: torch.nn.Module, seed: int, std: float = 0.05) -> torch.nn.Module:
    """Every weight drawn at random, so a wrong layer order or activation shows."""
    torch.manual_seed(seed)
    for p in module.parameters():
        torch.nn.init.normal_(p, std=std)
    return module.eval()


def _unit(landmarks: np.ndarray) -> torch.Tensor:
    return crop_to_unit(torch.from_numpy(np.asarray(landmarks, np.float32)[None]), SIZE)


def test_the_fusion_autoencoder_in_numpy_equals_torch(faces):
    phi = _randomised(LandmarkFusionAE(hidden=64, code=16), 0)
    source, target = _unit(faces["source"]), _unit(faces["target"])
    with torch.no_grad():
        expected = phi(source, target).numpy()
    got = fusion_ae_of(phi)(source.numpy(), target.numpy())
    assert np.abs(expected).max() > 1e-2  # a real output, not all zeros
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_the_residual_realisation_in_numpy_equals_torch(faces):
    phi = _randomised(ResidualFusion(hidden=32, code=16, basis=4), 1)
    phi.mean_face.copy_(_unit(faces["neutral"])[0])
    geometry = torch.cat([_unit(faces["target"]), _unit(faces["source"])])
    with torch.no_grad():
        expected = phi.realisation(geometry).numpy()
    numpy_phi = residual_realisation_of(phi)
    assert np.abs(expected).max() > 1e-2
    np.testing.assert_allclose(
        numpy_phi.realisation(geometry.numpy()), expected, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_array_equal(numpy_phi.basis, phi.enc_source.weight.detach().numpy())


def test_the_network_fuser_from_a_file_equals_the_torch_formula(faces, tmp_path):
    """J_gen = L_t + intensity * (Phi(L_s, L_t) - Phi(N_s, L_t)), in crop pixels, as the fuser
    computed it with torch before it ran in numpy."""
    phi = _randomised(LandmarkFusionAE(hidden=64, code=16), 2, std=0.3)
    path = save_module(tmp_path / "phi.safetensors", phi)
    fuser = NetworkFusion.from_weights(path, load_config(None, []))
    source, neutral, target = faces["source"], faces["neutral"], faces["target"]
    with torch.no_grad():
        deviation = (phi(_unit(source), _unit(target)) - phi(_unit(neutral), _unit(target)))[0]
    expected = target + 0.8 * deviation.numpy() * (SIZE / 2.0)
    got = fuser.fuse(source, neutral, target, 0.8)
    assert np.abs(got - target).max() > 1.0
    np.testing.assert_allclose(got, expected, atol=1e-2)
    np.testing.assert_allclose(fuser.fuse(neutral, neutral, target), target, atol=1e-4)


@pytest.mark.parametrize("name", ["fusion", "neutral_basis", "generator_256", "pixel_rr_smile_256"])
def test_shipped_weights_read_the_same_without_torch(name):
    path = MODELS_DIR / f"{name}.safetensors"
    arrays, meta = load_arrays(path, dtype=None)
    tensors, torch_meta = load_weights(path)
    assert meta == torch_meta == read_meta(path)
    assert sorted(arrays) == sorted(tensors)
    for key, value in tensors.items():
        np.testing.assert_array_equal(arrays[key], value.numpy())


def test_bad_weights_name_the_file(tmp_path):
    phi = LandmarkFusionAE(hidden=64, code=16)
    path = save_module(tmp_path / "phi.safetensors", phi)
    arrays, _ = load_arrays(path)
    with pytest.raises(
        WeightsError,
        match=r"phi\.safetensors: does not fit LandmarkFusionAE "
        r"\(enc_source\.0\.weight is \(64, 1434\), "
        r"expected \(128, 1434\)",
    ):
        FusionAE(arrays, num_points=478, dims=3, hidden=128, code=16, path=path)
    with pytest.raises(WeightsError, match="missing decoder.4.bias"):
        check_arrays(
            path,
            "LandmarkFusionAE",
            {k: v for k, v in arrays.items() if k != "decoder.4.bias"},
            {k: v.shape for k, v in arrays.items()},
        )
    pickle = tmp_path / "phi.pt"
    torch.save(phi.state_dict(), pickle)
    with pytest.raises(WeightsError, match="phi.pt: is a pickled torch.save checkpoint"):
        load_arrays(pickle)
