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
from reenact.errors import ConfigError, WeightsError
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


def test_the_setting_builds_the_learned_mouth_in_place_of_the_painted_one(weights, monkeypatch):
    import reenact.render.learned_mouth as module

    monkeypatch.setattr(module, "WEIGHTS", weights)
    names = [type(c).__name__ for c in WarpRenderer(size=SIZE, drawn="learned").corrections]
    assert names[-1] == "LearnedMouth" and "MouthFiller" not in names
    assert type(WarpRenderer(size=SIZE).corrections[-1]).__name__ == "MouthFiller"


def test_the_learned_mouth_without_torch_is_one_line_naming_the_key(monkeypatch):
    """The runtime install (`pip install .`) has no torch: the setting says so, not a traceback."""
    import reenact.render.corrections.build as build

    monkeypatch.setattr(build, "torch_available", lambda: False)
    with pytest.raises(ConfigError) as caught:
        WarpRenderer(size=SIZE, drawn="learned")
    message = str(caught.value)
    assert "\n" not in message and "renderer.corrections" in message and "torch" in message
    assert type(WarpRenderer(size=SIZE).corrections[-1]).__name__ == "MouthFiller"


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
