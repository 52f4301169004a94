"""The learned corrections' networks on ONNX Runtime (`reenact.render.local_net`): the `.onnx`
shipped beside each local network's weights is those weights, other weights are exported once
into the cache, and a damaged file is one line."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from reenact.engine.shipped import MODELS_DIR
from reenact.engine.weights import save_module
from reenact.errors import ReenactError
from reenact.nn.local_gen import LocalGenerator
from reenact.render.learned_mouth import BOX_HW, load_mouth_model, mouth_box, network_input
from reenact.render.local_net import cut
from reenact.render.learned_mouth import contours
from reenact.render.local_net import LocalNet, onnx_for


def _script(name: str):
    """A script of scripts/ as a module (they are run, not installed)."""
    path = Path(__file__).resolve().parents[2] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


export_onnx = _script("export_onnx")

LOCAL = sorted(MODELS_DIR.glob("local_*.safetensors"))
EXPORTED = {stem: (load, hw) for stem, (load, _channels, hw) in export_onnx.LOCAL.items()}


def _mouth_input(aligned_still, portraits_dir: Path) -> np.ndarray:
    crop, landmarks = aligned_still(portraits_dir / "lp_drv_d19.jpg", 256)
    box = mouth_box(landmarks[:, :2], 256)
    mouth = cut(crop, box, BOX_HW)
    return network_input(mouth, mouth, contours(landmarks[:, :2], box))


def test_every_shipped_local_network_has_its_onnx_file_and_its_export():
    assert {p.stem for p in LOCAL} <= set(EXPORTED), "add it to scripts/export_onnx.py's LOCAL"
    missing = [p.name for p in LOCAL if not p.with_suffix(".onnx").is_file()]
    assert not missing, f"run `python scripts/export_onnx.py` for {missing}"


@pytest.mark.parametrize("weights", LOCAL, ids=lambda p: p.stem)
def test_each_shipped_onnx_equals_its_safetensors(weights, aligned_still, portraits_dir):
    """Each shipped local network's `.onnx` gives what torch gives on its safetensors, on a real
    face's box (the mouth's input layout; the eyes' networks take the same 7 channels), one box
    and a batch of two (the eyes run both eyes as one)."""
    load, hw = EXPORTED[weights.stem]
    assert onnx_for(weights) == weights.with_suffix(".onnx")
    mouth = _mouth_input(aligned_still, portraits_dir).transpose(1, 2, 0)
    x = np.ascontiguousarray(cv2.resize(mouth, hw[::-1]).transpose(2, 0, 1))
    pair = np.stack([x, np.ascontiguousarray(x[:, :, ::-1])])  # two different boxes
    model = load(weights)
    with torch.inference_mode():
        rgb, mask = model(torch.from_numpy(pair))
    net = LocalNet(weights, load=load, channels=7, hw=hw, quantize="off")
    got_rgb, got_mask = net.run(x)
    assert float(mask.std()) > 0.01  # a real face: the mask is not flat
    assert np.abs(got_rgb - rgb[0].numpy()).max() * 127.5 < 0.5, (
        "the .onnx is not these weights: run `python scripts/export_onnx.py`"
    )
    assert np.abs(got_mask - mask[0, 0].numpy()).max() < 0.005
    both_rgb, both_mask = net.run_batch(pair)
    assert np.abs(both_rgb - rgb.numpy()).max() * 127.5 < 0.5
    assert np.abs(both_mask - mask[:, 0].numpy()).max() < 0.005


@pytest.mark.parametrize("weights", LOCAL, ids=lambda p: p.stem)
def test_each_shipped_network_runs_its_int8_model_unless_quantize_is_off(
    weights, aligned_still, portraits_dir
):
    """`renderer.quantize` auto runs the INT8 model shipped beside the fp32 one, "off" the fp32
    one; the two draw a real face's box alike (an INT8 file left from older weights does not)."""
    load, hw = EXPORTED[weights.stem]
    fp32 = LocalNet(weights, load=load, channels=7, hw=hw, quantize="off")
    int8 = LocalNet(weights, load=load, channels=7, hw=hw)
    assert fp32.path.name == f"{weights.stem}.onnx"
    assert int8.path.name == f"{weights.stem}.int8.onnx", "run `python -m lab.quantize_local`"
    mouth = _mouth_input(aligned_still, portraits_dir).transpose(1, 2, 0)
    x = np.ascontiguousarray(cv2.resize(mouth, hw[::-1]).transpose(2, 0, 1))
    (rgb, mask), (rgb8, mask8) = fp32.run(x), int8.run(x)
    assert float(np.abs(rgb8 - rgb).mean()) * 127.5 < 4.0, "run `python -m lab.quantize_local`"
    assert float(np.abs(mask8 - mask).mean()) < 0.03


def test_a_wrong_quantize_choice_is_one_line():
    weights = LOCAL[0]
    load, hw = EXPORTED[weights.stem]
    with pytest.raises(ReenactError) as caught:
        LocalNet(weights, load=load, channels=7, hw=hw, quantize="fp8")
    assert str(caught.value).startswith("renderer.quantize: 'fp8'"), caught.value


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_the_shipped_networks_take_a_batch_in_one_call(name):
    """The shipped ONNX files have a free batch axis: `LearnedEyes` runs both eyes in one call."""
    weights = MODELS_DIR / f"{name}.safetensors"
    if not weights.is_file():
        pytest.skip(f"no {name} weights shipped")
    load, hw = EXPORTED[name]
    net = LocalNet(weights, load=load, channels=7, hw=hw)
    batch = net.session.get_inputs()[0].shape[0]
    assert not isinstance(batch, int), f"run `python scripts/export_onnx.py {weights}`"


def test_other_weights_are_exported_once_into_the_cache(tmp_path, aligned_still, portraits_dir):
    torch.manual_seed(1)
    model = LocalGenerator()
    weights = save_module(tmp_path / "run.safetensors", model, dtype=torch.float16)
    loads = []

    def load(path: Path):
        loads.append(path)
        return load_mouth_model(path)

    first = LocalNet(weights, load=load, channels=7, hw=BOX_HW)
    assert first.path.parent.name == "onnx" and first.path.is_file()
    assert first.path.parent != weights.parent  # never written beside the user's file
    LocalNet(weights, load=load, channels=7, hw=BOX_HW)
    assert loads == [weights]  # the second one runs the cached export
    x = _mouth_input(aligned_still, portraits_dir)
    with torch.inference_mode():
        rgb, _mask = load_mouth_model(weights)(torch.from_numpy(x)[None])
    assert np.abs(first.run(x)[0] - rgb[0].numpy()).max() * 127.5 < 0.5


def test_a_damaged_onnx_file_is_one_line(tmp_path):
    torch.manual_seed(2)
    weights = save_module(tmp_path / "run.safetensors", LocalGenerator(), dtype=torch.float16)
    onnx = onnx_for(weights)
    onnx.parent.mkdir(parents=True, exist_ok=True)
    onnx.write_bytes(b"not an onnx model")
    with pytest.raises(ReenactError) as caught:
        LocalNet(weights, load=load_mouth_model, channels=7, hw=BOX_HW)
    message = str(caught.value)
    assert "\n" not in message and str(onnx) in message, message


def test_a_move_turn_or_zoom_is_no_change_of_shape_and_a_mouth_opening_is():
    from reenact.landmarks.head_pose import RigidReference
    from reenact.landmarks.regions import REGIONS
    from reenact.render.local_net import FULL_CHANGE, change_weight, shape_change

    rng = np.random.default_rng(3)
    points = np.arange(40)
    rest = rng.uniform(100, 160, (40, 2)).astype(np.float32)
    turn = np.deg2rad(12.0)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    moved = (rest - rest.mean(0)) @ rotation.T * 1.15 + rest.mean(0) + (7.5, -3.0)
    assert shape_change(moved.astype(np.float32), RigidReference(rest, points)) < 1e-5
    assert change_weight(moved.astype(np.float32), RigidReference(rest, points)) < 1e-3
    # a real mouth's lower lip dropped by a tenth of its width
    lips = np.concatenate([REGIONS["lips_outer"], REGIONS["lips_inner"]])
    mouth = np.zeros((478, 2), np.float32)
    t = np.linspace(0, 2 * np.pi, len(lips), endpoint=False)
    mouth[lips] = np.stack([128 + 25 * np.cos(t), 180 + 8 * np.sin(t)], 1)
    at_rest = RigidReference(mouth, lips)
    opened = mouth.copy()
    lower = mouth[:, 1] > 180
    opened[lower, 1] += 5.0
    assert shape_change(opened, at_rest) > FULL_CHANGE
    assert change_weight(opened, at_rest) == 1.0
    half = mouth.copy()
    half[lower, 1] += 0.5  # a tenth of it: part of the network's drawing
    assert 0.0 < change_weight(half, at_rest) < 1.0
