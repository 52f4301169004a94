"""A personal avatar's mouth bank (reenact.render.mouth_bank): it keeps mouths of different
shapes, draws the kept frame's mouth over the lips and nowhere else, does not flicker between two
alike frames, and the generator draws it for an avatar that carries one (and only then)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reenact.landmarks.scripted import mouth_open
from reenact.render.corrections.apply import paste
from reenact.render.mouth_bank import OUTER, MouthBank, cut_to_mouth, lips_mask, pick

GREEN = np.array([0, 255, 0], np.uint8)


@pytest.fixture(scope="module")
def face(aligned_still, portraits_dir):
    return aligned_still(portraits_dir / "lp_s0.jpg")


def green_lips(crop: np.ndarray, xy: np.ndarray) -> np.ndarray:
    out = crop.copy()
    cv2.fillPoly(out, [np.round(xy[OUTER, :2]).astype(np.int32)], GREEN.tolist())
    return out


def greenness(image: np.ndarray, mask: np.ndarray) -> float:
    pixels = image[mask].astype(np.float32)
    return float((pixels[:, 1] - pixels[:, [0, 2]].mean(axis=1)).mean())


def test_the_bank_keeps_the_extremes_not_the_most_frequent(face):
    _, xy = face
    amounts = np.concatenate([np.zeros(30), np.linspace(0.0, 0.5, 11)])  # mostly closed
    landmarks = np.stack([xy + mouth_open(xy, a) for a in amounts])
    chosen = pick(landmarks, count=3)
    assert len(set(chosen.tolist())) == 3
    assert len(landmarks) - 1 in chosen  # the widest mouth is kept
    assert sum(amounts[chosen] <= 0.05) == 1  # one (nearly) closed mouth, not three


def test_the_patch_draws_the_kept_mouth_over_the_lips_only(face):
    crop, xy = face
    bank = MouthBank(green_lips(crop, xy)[None], xy[None])
    out = paste(crop.copy(), [bank.patch(xy, crop)])
    lips = lips_mask(xy, 256, 0) > 0.5
    assert greenness(out, lips) > greenness(crop, lips) + 60
    far = lips_mask(xy, 256, 12) < 0.5
    assert np.array_equal(out[far], crop[far])


def test_a_close_rival_does_not_take_over(face):
    crop, xy = face
    opened = xy + mouth_open(xy, 0.2)
    bank = MouthBank(np.stack([crop, crop]), np.stack([xy, opened]))
    between = [xy + share * (opened - xy) for share in (0.45, 0.55, 1.0)]
    assert [bank.nearest(d) for d in between] == [0, 0, 1]
    bank.reset()
    assert bank.nearest(between[1]) == 1  # without the last one used, the nearest


def test_cut_to_mouth_keeps_the_lips_and_blacks_the_rest(face):
    crop, xy = face
    cut = cut_to_mouth(crop, xy)
    lips = lips_mask(xy, 256, 0) > 0.5
    assert np.array_equal(cut[lips], crop[lips])
    forehead = np.round(xy[10, :2]).astype(int)  # the face mesh's top of the forehead
    assert not cut[forehead[1], forehead[0]].any()


def test_the_generator_draws_an_avatars_mouth_bank(face, tmp_path):
    from reenact.avatar import read_avatar
    from reenact.config import load_config
    from reenact.engine.shipped import shipped_weights
    from reenact.render.generator import load_generator_renderer
    from tests.avatar_files import make_avatar

    crop, xy = face
    config = load_config(None, ["renderer.quantize=off"])
    renderer = load_generator_renderer(shipped_weights("generator", 256), config)
    renderer.set_target(crop, xy)
    plain = read_avatar(make_avatar(tmp_path / "plain.avatar", crop))
    banked = read_avatar(
        make_avatar(
            tmp_path / "bank.avatar", crop, mouth_bank=(green_lips(crop, xy)[None], xy[None])
        )
    )
    drive = (xy + mouth_open(xy, 0.15)).astype(np.float32)
    lips = lips_mask(drive, 256, 0) > 0.5
    renderer.set_avatar(plain)
    assert renderer.mouths.bank is None
    without = renderer.render(drive).copy()
    renderer.set_avatar(banked)
    with_bank = renderer.render(drive).copy()
    assert greenness(with_bank, lips) > greenness(without, lips) + 40
    far = lips_mask(drive, 256, 12) < 0.5
    assert np.abs(with_bank[far].astype(int) - without[far]).max() <= 1
    # another picture set after the avatar is not its own: the bank waits for set_avatar
    renderer.set_target(crop, xy)
    assert greenness(renderer.render(drive), lips) < greenness(with_bank, lips) - 40
    renderer.set_avatar(banked)
    assert greenness(renderer.render(drive), lips) > greenness(without, lips) + 40
    renderer.set_avatar(None)
    assert renderer.mouths.bank is None


def test_the_device_renderer_draws_an_avatars_mouth_bank(face, tmp_path):
    """The CUDA path's renderer, eager on the CPU here: the bank is pasted on the host."""
    pytest.importorskip("torch")
    from reenact.avatar import read_avatar
    from reenact.render.avatar_cuda import AvatarDeviceRenderer
    from reenact.render.generator import load_generator
    from tests.avatar_files import SHIPPED_WEIGHTS, make_avatar

    crop, xy = face
    model, meta = load_generator(SHIPPED_WEIGHTS)
    renderer = AvatarDeviceRenderer(model=model, meta=meta, weights=SHIPPED_WEIGHTS, device="cpu")
    renderer.set_target(crop, xy)
    plain = read_avatar(make_avatar(tmp_path / "plain.avatar", crop))
    banked = read_avatar(
        make_avatar(
            tmp_path / "bank.avatar", crop, mouth_bank=(green_lips(crop, xy)[None], xy[None])
        )
    )
    drive = (xy + mouth_open(xy, 0.15)).astype(np.float32)
    lips = lips_mask(drive, 256, 0) > 0.5
    renderer.set_avatar(plain)
    without = renderer.render(drive).copy()
    renderer.set_avatar(banked)
    assert greenness(renderer.render(drive), lips) > greenness(without, lips) + 40
    renderer.set_target(crop, xy)  # another picture: no bank until set_avatar names the avatar
    assert greenness(renderer.render(drive), lips) < greenness(without, lips) + 10
