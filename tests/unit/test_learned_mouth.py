"""The learned mouth (`renderer.corrections: learned`, issue 88) as a warp correction.

A Yale subject's neutral still driven by the landmarks of their own surprised still (the mouth
opens): the learned correction draws over the opening and leaves every pixel outside its box
as the warp drew it; a missing or damaged weights file is one clear line.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from reenact.engine.weights import save_module
from reenact.errors import WeightsError
from reenact.landmarks.regions import REGIONS
from reenact.nn.local_gen import LocalGenerator
from reenact.render.learned_mouth import WEIGHTS, LearnedMouth, load_mouth_model
from reenact.render.warp import WarpRenderer

SIZE = 256


@pytest.fixture(scope="module")
def surprised(media_dir: Path, aligned_still):
    crop, neutral = aligned_still(media_dir / "expressions" / "01_normal.png", SIZE)
    real, driven = aligned_still(media_dir / "expressions" / "01_surprised.png", SIZE)
    return crop, neutral, real, driven


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    """The shipped weights when there are some, else an untrained network's."""
    if WEIGHTS.is_file():
        return WEIGHTS
    torch.manual_seed(0)
    return save_module(tmp_path / "mouth.safetensors", LocalGenerator(), dtype=torch.float16)


def _opening(xy: np.ndarray) -> np.ndarray:
    """(S,S) bool: inside the inner lips of (478,2) landmarks."""
    mask = np.zeros((SIZE, SIZE), np.uint8)
    cv2.fillPoly(mask, [xy[REGIONS["lips_inner"], :2].round().astype(np.int32)], (1,))
    return mask.astype(bool)


def _covered(layer) -> np.ndarray:
    """(S,S) float32: a Layer's alpha over the crop (0 outside its box)."""
    (x0, y0, x1, y1), _rgb, alpha = layer
    out = np.zeros((SIZE, SIZE), np.float32)
    out[y0:y1, x0:x1] = alpha
    return out


def _lips(xy: np.ndarray) -> np.ndarray:
    """(S,S) bool: inside the outer lips of (478,2) landmarks."""
    mask = np.zeros((SIZE, SIZE), np.uint8)
    cv2.fillPoly(mask, [xy[REGIONS["lips_outer"], :2].round().astype(np.int32)], (1,))
    return mask.astype(bool)


def test_the_learned_mouth_draws_the_opening_and_nothing_outside_its_box(surprised, weights):
    crop, neutral, _real, driven = surprised
    bare = WarpRenderer(size=SIZE, fill_mouth=False)
    learned = WarpRenderer(size=SIZE, fill_mouth=False)
    learned.corrections.append(LearnedMouth(size=SIZE, weights=weights))
    for warp in (bare, learned):
        warp.set_target(crop, neutral)
    plain, drawn = bare.render(driven), learned.render(driven)
    (x0, y0, x1, y1), _rgb, _alpha = learned.kept_layers[0]
    opening = _opening(learned.follow(driven))
    assert opening.sum() > 50  # the surprised mouth is open
    change = np.abs(drawn.astype(np.int16) - plain).max(axis=2)
    assert change[opening].mean() > 4, change[opening].mean()
    change[y0:y1, x0:x1] = 0
    assert change.max() == 0  # the warp's own pixels everywhere else


def test_an_open_mouth_shows_the_painted_cavity_inside_the_learned_lips(surprised, weights):
    """The network draws a wide opening as a pale blur: inside the opening the painter's cavity
    and teeth are drawn over it, as the painted warp draws them, and the lips stay the
    network's."""
    crop, neutral, _real, driven = surprised
    renders, layers = {}, {}
    for inside in ("painted", "learned"):
        warp = WarpRenderer(size=SIZE, fill_mouth=False)
        warp.corrections.append(LearnedMouth(size=SIZE, weights=weights, inside=inside))
        warp.set_target(crop, neutral)
        renders[inside], layers[inside] = warp.render(driven).astype(np.int16), warp.kept_layers
    painted = WarpRenderer(size=SIZE)
    painted.set_target(crop, neutral)
    cavity = painted.render(driven).astype(np.int16)
    assert len(layers["learned"]) == 1 and len(layers["painted"]) == 2
    (x0, y0, x1, y1), _rgb, alpha = layers["painted"][1]
    core = np.zeros((SIZE, SIZE), bool)
    core[y0:y1, x0:x1] = alpha > 0.99
    assert core.sum() > 50
    assert np.abs(renders["painted"] - cavity)[core].max() <= 1
    assert np.abs(renders["learned"] - cavity)[core].mean() > 10
    reach = np.zeros((SIZE, SIZE), bool)
    reach[y0:y1, x0:x1] = alpha > 0
    lips = _lips(painted.follow(driven)) & ~reach
    assert lips.sum() > 200
    assert (renders["painted"] == renders["learned"])[lips].all()


def test_closed_lips_over_an_open_rest_are_the_networks_not_the_painted_seal(surprised, weights):
    """A target with its mouth open at rest driven to closed lips: the painter seals them with a
    dark line; the learned mouth draws them itself, with no seal over its drawing."""
    _crop, neutral, real, driven = surprised
    learned = WarpRenderer(size=SIZE, fill_mouth=False)
    learned.corrections.append(LearnedMouth(size=SIZE, weights=weights))
    painted = WarpRenderer(size=SIZE)
    for warp in (learned, painted):
        warp.set_target(real, driven)
        warp.render(neutral)
    assert len(painted.kept_layers) == 1  # the seal
    (drawing,) = learned.kept_layers  # the network's box, no seal over it
    assert drawing.box != painted.kept_layers[0].box


def test_at_the_targets_own_lips_the_network_is_not_run_and_the_picture_stays(surprised, weights):
    """Where the lips keep the target's own shape the warp draws the picture itself: the
    network, which redraws its whole box softer, is not run, and a small change of shape takes
    only part of its drawing."""
    crop, neutral, _real, driven = surprised
    learned = WarpRenderer(size=SIZE, fill_mouth=False)
    mouth = LearnedMouth(size=SIZE, weights=weights)
    learned.corrections.append(mouth)
    learned.set_target(crop, neutral)
    calls = []
    run = mouth.net.run
    mouth.net.run = lambda x: calls.append(1) or run(x)
    drawn = learned.render(neutral).astype(np.int16)
    assert calls == [] and learned.kept_layers == []
    assert np.abs(drawn - crop).mean() < 0.2
    shares = []
    for step in (0.1, 1.0):
        between = neutral + step * (driven - neutral)
        learned.render(between)
        shares.append(learned.kept_layers[0].alpha.max())
    assert calls == [1, 1] and shares[0] < 0.5 * shares[1]


def test_the_setting_builds_the_learned_mouth_in_place_of_the_painted_one(weights, monkeypatch):
    import reenact.render.learned_mouth as module

    monkeypatch.setattr(module, "WEIGHTS", weights)
    names = [type(c).__name__ for c in WarpRenderer(size=SIZE, drawn="learned").corrections]
    assert names[-1] == "LearnedMouth" and "MouthFiller" not in names
    assert type(WarpRenderer(size=SIZE).corrections[-1]).__name__ == "MouthFiller"


def test_the_learned_mouth_runs_without_torch_from_its_shipped_onnx(surprised, monkeypatch):
    """The runtime install (`pip install .`) has no torch: the shipped mouth runs on ONNX
    Runtime from the file beside its weights; weights of a lab run need torch to be exported,
    and say so in one line."""
    import reenact.render.local_net as local_net

    monkeypatch.setattr(local_net, "torch_available", lambda: False)
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # any import of it fails
    crop, neutral, _real, driven = surprised
    warp = WarpRenderer(size=SIZE, drawn="learned")
    warp.set_target(crop, neutral)
    warp.render(driven)
    assert warp.kept_layers and warp.kept_layers[0].rgb is not None
    lab_run = Path(__file__)  # any file not beside the shipped weights
    with pytest.raises(WeightsError) as caught:
        LearnedMouth(size=SIZE, weights=lab_run)
    message = str(caught.value)
    assert "\n" not in message and "torch" in message and str(lab_run) in message, message


@pytest.mark.parametrize("content", [None, b"not a safetensors file at all"])
def test_missing_or_damaged_weights_are_one_line(tmp_path: Path, content: bytes | None):
    path = tmp_path / "mouth.safetensors"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WeightsError) as caught:
        load_mouth_model(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message, message


@pytest.mark.skipif(not WEIGHTS.is_file(), reason="no learned-mouth weights shipped")
def test_the_shipped_mouth_never_saw_a_held_out_person():
    from reenact.engine.arrays import read_meta
    from reenact_lab.train.splits import read_splits

    meta = read_meta(WEIGHTS)
    trained_on = set(meta["trained_on"].split())
    assert len(trained_on) >= 50 and not trained_on & set(read_splits().held_out)


def test_the_generator_pastes_the_learned_mouth_as_it_pastes_the_painted_one(surprised, weights):
    """`renderer.corrections: learned` with the shipped warp-guided generator on the CPU: its
    inner warp draws the learned mouth, and the network's output shows that drawing in the
    mouth's box: its lips where the painted warp kept none (both keep the painted cavity)."""
    from reenact.config import load_config
    from reenact.engine.shipped import shipped_weights
    from reenact.render.generator import load_generator_renderer

    crop, neutral, _real, driven = surprised
    outputs = {}
    for drawn in ("painted", "learned"):
        config = load_config(None, ["renderer.backend=torch", f"renderer.corrections={drawn}"])
        renderer = load_generator_renderer(shipped_weights("generator", 256), config)
        if drawn == "learned":
            renderer.warp.corrections[-1] = LearnedMouth(size=SIZE, weights=weights)
        assert type(renderer.warp.corrections[-1]).__name__ == (
            "LearnedMouth" if drawn == "learned" else "MouthFiller"
        )
        renderer.set_target(crop, neutral)
        outputs[drawn] = renderer.render(driven).copy()
        warped = renderer.warp.render(driven)
    drawn, cavity = (_covered(layer) for layer in renderer.warp.kept_layers)  # network, cavity
    learned = outputs["learned"].astype(np.int16)
    assert np.abs(learned - warped)[drawn > 0.99].max() <= 1  # the learned drawing, kept
    lips = (drawn > 0.5) & (cavity == 0)  # the lips, where the painted warp kept nothing
    assert lips.sum() > 20
    assert np.abs(learned - outputs["painted"])[lips].mean() > 2


def test_the_evals_warp_row_draws_what_the_setting_names():
    """`reenact eval --set renderer.corrections=learned` scores the learned mouth, not the
    painted one twice."""
    from reenact.config import load_config
    from reenact_lab.eval.renderers import build_eval_renderers

    for drawn, mouth in (("painted", "MouthFiller"), ("learned", "LearnedMouth")):
        rows = build_eval_renderers(load_config(None, [f"renderer.corrections={drawn}"]), [])
        warp = next(row.renderer for row in rows if row.name == "warp")
        assert type(warp.corrections[-1]).__name__ == mouth


def test_a_staged_frame_draws_the_learned_mouth_in_its_run_for_its_own_target(
    surprised, weights, monkeypatch
):
    """With render ahead the loop's thread stages a frame and the worker runs it: the learned
    mouth draws in the run (off the loop's thread), and draws for the target the frame was
    staged with even when the next target is set before the run."""
    from reenact.config import load_config
    from reenact.engine.shipped import shipped_weights
    from reenact.render.generator import load_generator_renderer

    crop, neutral, real, driven = surprised
    config = load_config(None, ["renderer.backend=torch", "renderer.corrections=learned"])
    renderer = load_generator_renderer(shipped_weights("generator", 256), config)
    renderer.warp.corrections[-1] = LearnedMouth(size=SIZE, weights=weights)
    renderer.set_target(crop, neutral)
    expected = renderer.render(driven).copy()
    calls = []
    overlay_on = LearnedMouth.overlay_on
    monkeypatch.setattr(
        LearnedMouth, "overlay_on", lambda self, *a: calls.append(1) or overlay_on(self, *a)
    )
    run = renderer.stage(driven)
    assert not calls  # nothing of the learned mouth while staging
    renderer.set_target(real, driven)  # the next target, before the run
    np.testing.assert_array_equal(run(), expected)
    assert calls == [1]
