"""The warp's painters draw what they drew before they were sped up (issue 19).

`tests/unit/warp_reference/` keeps the eye keeper, iris painter, lid painter and mouth filler as
they were before the speed-up, verbatim; `_reference_fill` below is the old `WarpExtras.fill`.
On a real clip tracked by the real face mesh (a replay, as `reenact bench --save-replay` makes),
with its expressions also exaggerated so that shut eyes, lid skin, wide mouths and the target's
own mouth interior all appear, and on a second real target, every layer, eye override, CUDA
plane and CPU render of the current code must match the reference's within one grey level
(colours) and 1/255 (alphas). Measured when written: they match exactly.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.config import load_config
from reenact.config.schema import TrackerConfig
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.tracker import detect_target_face
from reenact.render.warp import WarpRenderer
from reenact.render.warp_torch import WarpExtras
from reenact.tools.replay import Replay, load_replay, record_replay

SIZE = 256
REFERENCE = Path(__file__).parent / "warp_reference"
GREY = 1.0  # colours: one grey level
ALPHA = 1.0 / 255.0  # alphas: one grey level of coverage


def _module(name: str):
    path = REFERENCE / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"warp_reference_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def reference_warp(size: int = SIZE) -> WarpRenderer:
    """A WarpRenderer whose eye keeper and painters are the pre-speed-up ones."""
    eyes, irises, lids, mouth = (_module(n) for n in ("eyes", "irises", "lids", "mouth"))
    warp = WarpRenderer(size=size, lip_bands=False)
    warp.eyes = eyes.EyeKeeper(size=size, gaze_limit=0.0)
    warp.irises = irises.IrisPainter(size=size)
    warp.lids = lids.LidPainter(size=size)
    warp.mouth = mouth.MouthFiller(size=size)
    return warp


def _reference_fill(
    warp: WarpRenderer, planes: np.ndarray, xy: np.ndarray, clear: bool = True
) -> None:
    """The old `WarpExtras.fill` into (7,S,S) planes, zeroed first unless `clear` is False."""
    if clear:
        planes.fill(0)
    for (x0, y0, x1, y1), alpha, shift in warp.eyes.overrides(xy):
        planes[0, y0:y1, x0:x1] = alpha
        planes[1, y0:y1, x0:x1] = alpha * shift[0]
        planes[2, y0:y1, x0:x1] = alpha * shift[1]
    for painter in (warp.irises, warp.lids, warp.mouth):
        for (x0, y0, x1, y1), layer, alpha in painter.layers(xy):
            rgba = planes[3:, y0:y1, x0:x1]
            below = rgba[3].astype(np.float32)
            total = alpha + below * (1.0 - alpha)
            rgb = layer.transpose(2, 0, 1).astype(np.float32)
            mixed = rgb * alpha + rgba[:3].astype(np.float32) * (below * (1.0 - alpha))
            rgba[:3] = mixed / np.maximum(total, 1e-6)
            rgba[3] = total


@pytest.fixture(scope="module")
def replay(clips_dir: Path, tmp_path_factory) -> Replay:
    config = load_config(None, ["source.kind=video", f"source.path={clips_dir / 'lp_d0.mp4'}"])
    path = tmp_path_factory.mktemp("replay") / "replay.npz"
    return load_replay(record_replay(config, sizes=[SIZE], frames=40, path=path), SIZE)


def _portrait(path: Path) -> tuple[np.ndarray, np.ndarray]:
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    landmarks = detect_target_face(image, TrackerConfig(), source_name=str(path))
    alignment = compute_alignment(landmarks, SIZE)
    return alignment.crop_image(image), alignment.landmarks_to_crop(landmarks)


@pytest.fixture(scope="module")
def cases(replay: Replay, portraits_dir: Path) -> list[tuple[np.ndarray, np.ndarray, list]]:
    """(target crop, target landmarks, fused frames): the clip's own target (its neutral mouth
    is open: the own-interior path) and a closed-mouth portrait, each driven by the clip's
    motion at scales 1, 2 and 3 (shut eyes, wide mouths)."""
    motion = replay.fused[:, :, :2] - replay.landmarks[None, :, :2]
    out = []
    for crop, landmarks in (
        (replay.crop, replay.landmarks),
        _portrait(portraits_dir / "lp_s12.jpg"),
    ):
        base = np.asarray(landmarks, np.float32)
        frames = []
        for k in (1.0, 2.0, 3.0):
            for m in motion[::2]:
                fused = base.copy()
                fused[:, :2] += k * m
                frames.append(fused)
        out.append((crop, landmarks, frames))
    return out


def _pair(crop, landmarks) -> tuple[WarpRenderer, WarpRenderer]:
    # the lips' band map came after the speed-up (`reenact.render.lip_bands`, its own tests):
    # off on both sides, the painters are compared alone
    new, old = WarpRenderer(size=SIZE, lip_bands=False), reference_warp()
    new.set_target(crop, landmarks)
    old.set_target(crop, landmarks)
    return new, old


def _assert_layers_match(got: list, want: list, what: str) -> None:
    assert len(got) == len(want), what
    for (box_g, layer_g, alpha_g), (box_w, layer_w, alpha_w) in zip(got, want):
        assert box_g == box_w, what
        assert layer_g.dtype == layer_w.dtype and layer_g.shape == layer_w.shape, what
        assert np.abs(layer_g.astype(np.float64) - layer_w).max() <= GREY, what
        assert np.abs(alpha_g.astype(np.float64) - alpha_w).max() <= ALPHA, what


def test_layers_and_eye_overrides_match_the_reference(cases):
    seen = {"eyes": 0, "irises": 0, "lids": 0, "mouth": 0}
    for crop, landmarks, frames in cases:
        new, old = _pair(crop, landmarks)
        for fused in frames:
            xy = new.follow(fused)
            np.testing.assert_array_equal(xy, old.follow(fused))
            for name in ("irises", "lids", "mouth"):
                got = getattr(new, name).layers(xy)
                _assert_layers_match(got, getattr(old, name).layers(xy), name)
                seen[name] += len(got)
            got, want = new.eyes.overrides(xy), old.eyes.overrides(xy)
            assert [g[0] for g in got] == [w[0] for w in want]
            for (_, alpha_g, shift_g), (_, alpha_w, shift_w) in zip(got, want):
                assert np.abs(alpha_g - alpha_w).max() <= ALPHA
                assert np.abs(shift_g - shift_w).max() <= 1e-4
            seen["eyes"] += len(got)
    # every painter drew many times, so the comparison covered what each one draws
    assert min(seen.values()) >= 20, seen


def test_cpu_renders_and_cuda_planes_match_the_reference(cases):
    worst_render = worst_planes = 0.0
    for crop, landmarks, frames in cases:
        new, old = _pair(crop, landmarks)
        planes = np.zeros((7, SIZE, SIZE), np.float16)  # as the CUDA generator's host planes
        extras, want = WarpExtras(new, planes), np.zeros_like(planes)
        for fused in frames:
            got = new.render(fused).astype(np.int16)
            worst_render = max(worst_render, float(np.abs(got - old.render(fused)).max()))
            xy = new.follow(fused)
            extras.fill(xy)
            _reference_fill(old, want, old.follow(fused))
            diff = np.abs(planes.astype(np.float32) - want.astype(np.float32))
            worst_planes = max(worst_planes, float(diff[3:6].max()), 255 * float(diff[6].max()))
            assert 255 * float(diff[0].max()) <= 1.0 and float(diff[1:3].max()) <= 1e-2
    assert worst_render <= GREY and worst_planes <= GREY


def test_the_comparison_sees_a_changed_painter(cases):
    """The check above fails when a painter draws differently (here: a darker lash line)."""
    crop, landmarks, frames = cases[0]
    new, old = _pair(crop, landmarks)
    old.lids._lash = old.lids._lash * 0.5  # a darker lash line
    with pytest.raises(AssertionError):
        for fused in frames:
            xy = new.follow(fused)
            _assert_layers_match(new.lids.layers(xy), old.lids.layers(xy), "lids")


def test_extras_skip_a_repeated_frame_but_not_a_new_target(cases):
    (crop, landmarks, frames), (crop2, landmarks2, _) = cases
    warp = WarpRenderer(size=SIZE)
    warp.set_target(crop, landmarks)
    extras = WarpExtras(warp, np.zeros((7, SIZE, SIZE), np.float32))
    xy = warp.follow(frames[len(frames) // 2 + 3])  # exaggerated: eyes and mouth drawn
    assert extras.fill(xy)
    before = extras.planes.copy()
    assert not extras.fill(xy.copy())  # nothing changed, nothing to upload
    np.testing.assert_array_equal(extras.planes, before)
    warp.set_target(crop2, landmarks2)
    assert extras.fill(xy)
    assert not np.array_equal(extras.planes, before)
