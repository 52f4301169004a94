"""The learned eyes (`renderer.corrections: learned`, issue 88) as a warp correction.

A portrait tracked by the real face mesh is driven by its own landmarks with the eyes moved or
shut: each eye's box follows the eye, the image-left eye goes through the network mirrored and
comes back mirrored, a shut driving eye draws lid skin where the open one draws the iris, the
painted irises and lids draw where no warped image is given, and a missing or damaged weights
file is one clear line.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from reenact.engine.weights import save_module
from reenact.errors import WeightsError
from reenact.nn.local_gen import LocalGenerator
from reenact.render.corrections.apply import paint
from reenact.render.corrections.build import warp_corrections
from reenact.render.eyes import LOWER_LIDS, UPPER_LIDS
from reenact.render.corrections.base import Layer
from reenact.render.irises import IrisPainter, disc_cover
from reenact.render.learned_eyes import (
    BOX_HW,
    EYES,
    FLIPPED,
    IRISES,
    WEIGHTS,
    LearnedEyes,
    contours,
    driving_disc,
    eye_box,
    load_eye_model,
    network_input,
)
from reenact.render.lids import LidPainter
from reenact.render.local_net import cut
from reenact.render.warp import WarpRenderer

SIZE = 256


def iris_disc(layer: Layer, xy: np.ndarray, size: int) -> Layer:
    """The reference `IrisPainter.iris_discs` must match: a whole painted eyeball `layer`
    (`IrisPainter.overlay`) cut to the driving iris disc in it (`driving_disc`, anti-aliased)."""
    x0, y0, x1, y1 = layer.box
    eye = min(
        (0, 1),
        key=lambda e: float(
            np.abs(xy[IRISES[e][0]] - ((x0 + x1) / 2, (y0 + y1) / 2)).sum()  # its own eye
        ),
    )
    centre, radius = driving_disc(xy, eye, size)
    inside = disc_cover(centre - (x0, y0), radius, (0, y1 - y0), (0, x1 - x0))
    return Layer(layer.box, layer.rgb, (layer.alpha * inside).astype(np.float32))


@pytest.fixture(scope="module")
def portrait(media_dir: Path, aligned_still):
    return aligned_still(media_dir / "portraits" / "lp_s0.jpg", SIZE)


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    """The shipped weights when there are some, else an untrained network's."""
    if WEIGHTS.is_file():
        return WEIGHTS
    torch.manual_seed(0)
    return save_module(tmp_path / "eyes.safetensors", LocalGenerator(), dtype=torch.float16)


def _shut(landmarks: np.ndarray) -> np.ndarray:
    """The landmarks with both upper lids lowered onto the lower ones."""
    shut = np.array(landmarks, np.float32)
    for eye in (0, 1):
        shut[UPPER_LIDS[eye], 1] = shut[LOWER_LIDS[eye], 1] - 0.3
    return shut


def _warp(weights: Path, gaze: str = "disc") -> WarpRenderer:
    """The default warp with the learned eyes in place of the painted irises and lids."""
    warp = WarpRenderer(size=SIZE)
    warp.corrections = [c for c in warp.corrections if c.name not in ("irises", "lids")]
    at = next(i for i, c in enumerate(warp.corrections) if c.name == "eyes") + 1
    warp.corrections.insert(at, LearnedEyes(size=SIZE, weights=weights, gaze=gaze))
    return warp


def _counted(eyes: LearnedEyes, monkeypatch) -> list[int]:
    """The batch size of each ONNX Runtime call `eyes`' network makes from now on."""
    calls: list[int] = []
    run = eyes.net.session.run

    def counting(names, feeds):
        calls.append(len(next(iter(feeds.values()))))
        return run(names, feeds)

    monkeypatch.setattr(eyes.net, "session", SimpleNamespace(run=counting))
    return calls


def _iris_x(image: np.ndarray, xy: np.ndarray, eye: int) -> float:
    """x of the dark centre inside eye `eye`'s opening of `image`: the centroid of how much
    darker than the opening's median each pixel is (the iris and pupil)."""
    import cv2

    grey = image.astype(np.float32).mean(axis=2)
    opening = np.zeros(grey.shape, np.uint8)
    cv2.fillPoly(opening, [xy[EYES[eye]].round().astype(np.int32)], (1,))
    inside = opening.astype(bool)
    dark = np.clip(np.median(grey[inside]) - grey, 0, None) * inside
    return float((dark * np.arange(grey.shape[1])[None]).sum() / dark.sum())


def test_each_eye_box_follows_its_eye(portrait):
    _crop, lm = portrait
    xy = lm[:, :2].astype(np.float32)
    for eye in (0, 1):
        x0, y0, x1, y1 = eye_box(xy, eye, SIZE)
        assert (y1 - y0, x1 - x0) == BOX_HW
        ring = xy[EYES[eye]]
        assert (ring[:, 0] > x0 + 4).all() and (ring[:, 0] < x1 - 4).all()
        assert (ring[:, 1] > y0 + 4).all() and (ring[:, 1] < y1 - 4).all()
        moved = eye_box(xy + np.float32([7, -5]), eye, SIZE)
        assert moved == (x0 + 7, y0 - 5, x1 + 7, y1 - 5)
    assert eye_box(xy, 0, SIZE)[2] <= eye_box(xy, 1, SIZE)[0] + 16  # two eyes, side by side


def test_the_image_left_eye_is_mirrored_in_and_out(portrait, weights):
    """Irises turned towards each eye's outer corner sit on the same side of both eyes'
    contour images (the image-left eye mirrored), and the image-left eye's drawing comes back
    mirrored."""
    crop, lm = portrait
    xy = lm[:, :2].astype(np.float32).copy()
    for eye in (0, 1):
        ring, iris = EYES[eye], IRISES[eye]
        outer = ring[0]  # 33 and 263: the corners away from the nose
        centre = 0.5 * (xy[ring[0]] + xy[ring[8]])
        xy[iris] += 0.3 * (xy[outer] - centre)
    columns = np.arange(BOX_HW[1])
    for eye in (0, 1):
        lines = contours(xy, eye, eye_box(xy, eye, SIZE))
        iris_x = (columns * (lines > 0.75)).sum() / max((lines > 0.75).sum(), 1)
        assert iris_x > BOX_HW[1] / 2 + 2, (eye, iris_x)

    learned = LearnedEyes(size=SIZE, weights=weights, gaze="learned")
    learned.prepare(crop, lm)
    half = np.ones((2, 3, *BOX_HW), np.float32)
    half[..., BOX_HW[1] // 2 :] = -1  # white on the network's left, black on its right
    full = np.ones((2, *BOX_HW), np.float32)
    learned.net.run_batch = lambda x: (half, full)  # type: ignore[method-assign]
    layers = learned.overlay_on(xy, crop)
    assert len(layers) == 2
    left_eye, right_eye = (layer.rgb[:, :, 0].astype(float) for layer in layers)
    w = BOX_HW[1] // 2
    assert left_eye[:, w:].mean() > 200 and left_eye[:, :w].mean() < 50
    assert right_eye[:, :w].mean() > 200 and right_eye[:, w:].mean() < 50


@pytest.mark.skipif(not WEIGHTS.is_file(), reason="no learned-eye weights shipped")
def test_a_shut_driving_eye_draws_lid_skin_where_the_open_one_draws_the_iris(portrait):
    crop, lm = portrait
    warp = _warp(WEIGHTS)
    warp.set_target(crop, lm)
    opened, shut = warp.render(lm).astype(np.float32), warp.render(_shut(lm)).astype(np.float32)
    xy = lm[:, :2]
    for eye in (0, 1):
        c = xy[IRISES[eye][0]]
        r = float(np.linalg.norm(xy[IRISES[eye][1:]] - c, axis=1).mean())
        yy, xx = np.mgrid[0:SIZE, 0:SIZE]
        iris = (xx - c[0]) ** 2 + (yy - c[1]) ** 2 < (0.6 * r) ** 2
        below = (abs(xx - c[0]) < r) & (yy > c[1] + 2.5 * r) & (yy < c[1] + 3.5 * r)
        skin = crop[below].astype(np.float32).mean(0)
        far_open = np.abs(opened[iris].mean(0) - skin).mean()
        far_shut = np.abs(shut[iris].mean(0) - skin).mean()
        assert far_shut < 0.6 * far_open, (eye, far_open, far_shut)


@pytest.mark.parametrize("shift", [-3.0, 3.0])
def test_the_painted_iris_over_the_learned_eye_moves_with_the_driving_iris(
    portrait, weights, shift
):
    """Driving irises moved sideways (the lids kept) move the iris the warp draws by about as
    much in both eyes: the painted iris goes over the network's eye (which alone moves it
    less: the gaze design "warp", with the eyeball kept still, fails this)."""
    crop, lm = portrait
    warp = _warp(weights)
    warp.set_target(crop, lm)
    looking = np.array(lm, np.float32)
    for eye in (0, 1):
        looking[IRISES[eye], 0] += shift
    rest, moved = warp.render(lm), warp.render(looking)
    xy = warp.follow(lm)[:, :2]
    for eye in (0, 1):
        went = _iris_x(moved, xy, eye) - _iris_x(rest, xy, eye)
        assert 0.5 * abs(shift) < went * np.sign(shift) < 1.5 * abs(shift), (eye, shift, went)


def _drives(rest: np.ndarray, count: int = 40) -> list[np.ndarray]:
    """The target's own (478,2) landmarks, then `count` times moved at random: irises glancing,
    lids raised (the wide plate and the lash line drawn again) or lowered, the head moved and
    scaled by fractions of a pixel (a byte off in the iris's sampling shows on some only)."""
    rng = np.random.default_rng(88)
    drives = [rest]
    middle = rest.mean(axis=0)
    for k in range(count):
        scale, shift = rng.uniform(0.9, 1.1), rng.uniform(-6.0, 6.0, 2)
        xy = (middle + (rest - middle) * scale + shift).astype(np.float32)
        for eye in (0, 1):
            xy[IRISES[eye]] += rng.uniform(-4.0, 4.0, 2).astype(np.float32)
            gap = xy[LOWER_LIDS[eye], 1] - xy[UPPER_LIDS[eye], 1]
            xy[UPPER_LIDS[eye], 1] += np.float32(rng.uniform(-0.3, 0.5) if k % 3 else 0.0) * gap
        drives.append(xy)
    return drives


@pytest.mark.parametrize("name", ["lp_s0.jpg", "lp_s3.jpg", "tpsmm_source.png"])
def test_the_iris_only_path_draws_the_whole_layers_disc_byte_for_byte(
    media_dir, aligned_still, name
):
    """`IrisPainter.iris_discs` (the disc gaze's iris) builds only its disc's box of each eyeball:
    its pixels and alpha are those of the whole layer (`overlay`) cut to the driving disc
    (`iris_disc`), byte for byte, and the whole cut layer draws nothing outside that box."""
    crop, lm = aligned_still(media_dir / "portraits" / name, SIZE)
    painter = IrisPainter(size=SIZE)
    painter.prepare(crop, lm)
    for xy in _drives(lm[:, :2].astype(np.float32)):
        discs = (driving_disc(xy, 0, SIZE), driving_disc(xy, 1, SIZE))
        parts = painter.iris_discs(xy, discs)
        wholes = [iris_disc(layer, xy, SIZE) for layer in painter.overlay(xy)]
        assert len(parts) == len(wholes) == 2
        for part, whole in zip(parts, wholes):
            (x0, y0, x1, y1), (wx0, wy0, wx1, wy1) = part.box, whole.box
            assert wx0 <= x0 < x1 <= wx1 and wy0 <= y0 < y1 <= wy1
            assert (x1 - x0) * (y1 - y0) < (wx1 - wx0) * (wy1 - wy0)  # the disc's box only
            inside = (slice(y0 - wy0, y1 - wy0), slice(x0 - wx0, x1 - wx0))
            assert np.array_equal(part.rgb, whole.rgb[inside])
            assert np.array_equal(part.alpha, whole.alpha[inside]) and part.alpha.max() > 0.5
            rest = whole.alpha.copy()
            rest[inside] = 0
            assert not rest.any()


def test_the_disc_gaze_paints_what_the_whole_layer_cut_to_the_disc_paints(portrait, weights):
    crop, lm = portrait
    learned = LearnedEyes(size=SIZE, weights=weights)
    learned.prepare(crop, lm)
    painter = IrisPainter(size=SIZE)
    painter.prepare(crop, lm)
    for xy in _drives(lm[:, :2].astype(np.float32), 3)[1:]:
        layers = learned.overlay_on(xy, crop)
        assert len(layers) == 4  # the network's two eyes, then the two irises
        drawn, expected = crop.copy(), crop.copy()
        paint(drawn, layers[2:])
        paint(expected, [iris_disc(layer, xy, SIZE) for layer in painter.overlay(xy)])
        assert np.array_equal(drawn, expected) and (drawn != crop).any()
    far = (np.float32([5.0, 5.0]), 3.0)  # a disc off the eye: no layer for that eye
    assert [layer.box for layer in painter.iris_discs(xy, (far, None))] == [
        painter.overlay(xy)[1].box
    ]


def test_the_gaze_design_is_checked(weights):
    with pytest.raises(ValueError, match="gaze"):
        LearnedEyes(size=SIZE, weights=weights, gaze="sideways")


def test_both_eyes_run_as_one_batch_that_equals_two_single_calls(portrait, weights, monkeypatch):
    crop, lm = portrait
    xy = lm[:, :2].astype(np.float32)
    learned = LearnedEyes(size=SIZE, weights=weights, gaze="learned")
    learned.prepare(crop, lm)
    x = np.stack(
        [
            network_input(
                cut(crop, eye_box(xy, eye, SIZE), BOX_HW, FLIPPED[eye]),
                cut(crop, eye_box(xy, eye, SIZE), BOX_HW, FLIPPED[eye]),
                contours(xy, eye, eye_box(xy, eye, SIZE)),
            )
            for eye in (0, 1)
        ]
    )
    rgb, mask = learned.net.run_batch(x)
    assert rgb.shape == (2, 3, *BOX_HW) and mask.shape == (2, *BOX_HW)
    for eye in (0, 1):
        one_rgb, one_mask = learned.net.run(x[eye])
        assert np.abs(rgb[eye] - one_rgb).max() < 1e-4
        assert np.abs(mask[eye] - one_mask).max() < 1e-5
    assert np.abs(rgb[0] - rgb[1]).max() > 1e-3  # two different eyes, not one twice

    calls = _counted(learned, monkeypatch)
    layers = learned.overlay_on(_shut(lm)[:, :2], crop)  # both eyes change shape
    assert len(layers) == 2 and calls == [2]  # one ONNX Runtime call a frame, for both eyes


def test_without_an_image_the_painted_irises_and_lids_draw(portrait, weights):
    crop, lm = portrait
    learned = LearnedEyes(size=SIZE, weights=weights)
    learned.prepare(crop, lm)
    painters = (IrisPainter(size=SIZE), LidPainter(size=SIZE))
    for p in painters:
        p.prepare(crop, lm)
    shut = _shut(lm)[:, :2]
    expected = [layer for p in painters for layer in p.overlay(shut)]
    got = learned.overlay(shut)
    assert len(got) == len(expected) > 0
    for a, b in zip(got, expected):
        assert a.box == b.box and np.array_equal(a.rgb, b.rgb)


def test_the_learned_eyes_draw_only_inside_their_boxes(portrait, weights):
    crop, lm = portrait
    bare = WarpRenderer(size=SIZE)
    bare.corrections = [c for c in bare.corrections if c.name not in ("irises", "lids")]
    learned = _warp(weights)
    for warp in (bare, learned):
        warp.set_target(crop, lm)
    driven = _shut(lm)
    change = np.abs(learned.render(driven).astype(np.int16) - bare.render(driven)).max(axis=2)
    follow = learned.follow(driven)
    for eye in (0, 1):
        x0, y0, x1, y1 = eye_box(follow, eye, SIZE)
        assert change[y0:y1, x0:x1].max() > 0
        change[y0:y1, x0:x1] = 0
    assert change.max() == 0


def test_at_the_targets_own_eyes_the_network_is_not_run_and_the_picture_stays(
    portrait, weights, monkeypatch
):
    """Eyes in the target's own shape are the picture's (the network would redraw both boxes
    softer): no network call, and only a changed eye is drawn by it."""
    crop, lm = portrait
    learned = _warp(weights)
    learned.set_target(crop, lm)
    calls = _counted(
        next(c for c in learned.corrections if isinstance(c, LearnedEyes)), monkeypatch
    )
    drawn = learned.render(lm).astype(np.int16)
    assert calls == []
    assert np.abs(drawn - crop).mean() < 0.2
    one = np.array(lm, np.float32)
    one[UPPER_LIDS[1], 1] = one[LOWER_LIDS[1], 1] - 0.3  # the image-right eye shut
    learned.render(one)
    assert calls == [1]


def test_the_setting_builds_the_learned_eyes_only_where_their_weights_ship(
    weights, tmp_path: Path, monkeypatch
):
    import reenact.render.learned_eyes as module

    monkeypatch.setattr(module, "WEIGHTS", weights)
    names = [type(c).__name__ for c in warp_corrections(SIZE, drawn="learned")]
    assert "LearnedEyes" in names and "LidPainter" not in names and "IrisPainter" not in names
    assert names.index("EyeKeeper") < names.index("LearnedEyes")
    painted = [type(c).__name__ for c in warp_corrections(SIZE)]
    assert "LearnedEyes" not in painted and "LidPainter" in painted
    monkeypatch.setattr(module, "WEIGHTS", tmp_path / "none.safetensors")
    names = [type(c).__name__ for c in warp_corrections(SIZE, drawn="learned")]
    assert "LearnedEyes" not in names and "LidPainter" in names


@pytest.mark.parametrize("content", [None, b"not a safetensors file at all"])
def test_missing_or_damaged_weights_are_one_line(tmp_path: Path, content: bytes | None):
    path = tmp_path / "eyes.safetensors"
    if content is not None:
        path.write_bytes(content)
    for load in (load_eye_model, lambda p: LearnedEyes(size=SIZE, weights=p)):
        with pytest.raises(WeightsError) as caught:
            load(path)
        message = str(caught.value)
        assert "\n" not in message and str(path) in message, message


@pytest.mark.skipif(not WEIGHTS.is_file(), reason="no learned-eye weights shipped")
def test_the_shipped_eyes_never_saw_a_held_out_person():
    from reenact.engine.arrays import read_meta
    from reenact_lab.train.splits import read_splits

    meta = read_meta(WEIGHTS)
    trained_on = set(meta["trained_on"].split())
    assert len(trained_on) >= 50 and not trained_on & set(read_splits().held_out)
