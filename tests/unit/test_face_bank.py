"""A personal avatar's face bank (reenact.render.face_bank): it keeps mouths and eyes of different
shapes, draws each kept part over that part and nowhere else, does not flicker between two alike
frames, and the generators draw it for an avatar that carries one, on its own picture only."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reenact.landmarks.scripted import close_eye, mouth_open
from reenact.render.corrections.apply import paste
from reenact.render.face_bank import EYES, MOUTH, OUTER, FaceBank
from reenact_lab.train.avatar_write import cut_to_parts, pick, spread

GREEN, BLUE = np.array([0, 255, 0], np.uint8), np.array([0, 0, 255], np.uint8)


@pytest.fixture(scope="module")
def face(aligned_still, portraits_dir):
    return aligned_still(portraits_dir / "lp_s0.jpg")


def green_lips(crop: np.ndarray, xy: np.ndarray) -> np.ndarray:
    out = crop.copy()
    cv2.fillPoly(out, [np.round(xy[OUTER, :2]).astype(np.int32)], GREEN.tolist())
    return out


def tint(image: np.ndarray, mask: np.ndarray, channel: int) -> float:
    pixels = image[mask].astype(np.float32)
    others = [c for c in range(3) if c != channel]
    return float((pixels[:, channel] - pixels[:, others].mean(axis=1)).mean())


def test_the_bank_keeps_the_extremes_not_the_most_frequent(face):
    _, xy = face
    amounts = np.concatenate([np.zeros(30), np.linspace(0.0, 0.5, 11)])  # mostly closed
    shapes = np.stack([MOUTH.shape(xy + mouth_open(xy, a)) for a in amounts])
    chosen = spread(shapes, 3)
    assert len(set(chosen.tolist())) == 3
    assert len(amounts) - 1 in chosen  # the widest mouth is kept
    assert sum(amounts[chosen] <= 0.05) == 1  # one (nearly) closed mouth, not three


def test_the_bank_keeps_a_shut_eye_among_many_mouths(face):
    _, xy = face
    mouths = [xy + mouth_open(xy, a) for a in np.linspace(0.0, 0.5, 199)]
    shut = xy + close_eye(xy, "left", 1.0) + close_eye(xy, "right", 1.0)
    kept = pick(np.stack([*mouths, shut]))
    assert 199 in kept  # the one blink, which no mouth would have kept
    assert len(kept) <= MOUTH.count + EYES.count


def test_each_part_is_drawn_over_itself_only(face):
    crop, xy = face
    frame = green_lips(crop, xy)
    for rows in EYES.outlines:
        cv2.fillPoly(
            frame, [cv2.convexHull(np.round(xy[rows, :2]).astype(np.int32))], BLUE.tolist()
        )
    bank = FaceBank(frame[None], xy[None])
    out = paste(crop.copy(), bank.patches(xy, crop))
    lips, eyes = MOUTH.mask(xy, 256, 0) > 0.5, EYES.mask(xy, 256, 0) > 0.5
    assert tint(out, lips, 1) > tint(crop, lips, 1) + 60
    assert tint(out, eyes, 2) > tint(crop, eyes, 2) + 60
    far = (MOUTH.mask(xy, 256, 12) < 0.5) & (EYES.mask(xy, 256, 16) < 0.5)
    assert np.array_equal(out[far], crop[far])


def test_a_close_rival_does_not_take_over(face):
    crop, xy = face
    opened = xy + mouth_open(xy, 0.2)
    bank = FaceBank(np.stack([crop, crop]), np.stack([xy, opened]))
    between = [xy + share * (opened - xy) for share in (0.45, 0.55, 1.0)]
    assert [bank.nearest(MOUTH, d) for d in between] == [0, 0, 1]
    bank.reset()
    assert bank.nearest(MOUTH, between[1]) == 1  # without the last one used, the nearest


def test_cut_to_parts_keeps_the_lips_and_eyes_and_blacks_the_rest(face):
    crop, xy = face
    cut = cut_to_parts(crop, xy)
    for part in (MOUTH, EYES):
        inside = part.mask(xy, 256, 0) > 0.5
        assert np.array_equal(cut[inside], crop[inside])
    forehead = np.round(xy[10, :2]).astype(int)  # the face mesh's top of the forehead
    assert not cut[forehead[1], forehead[0]].any()


@pytest.fixture(scope="module")
def avatars(face, tmp_path_factory):
    """A plain avatar of the face, and one whose bank's one frame has green lips."""
    from reenact.avatar import read_avatar
    from tests.avatar_files import make_avatar

    crop, xy = face
    folder = tmp_path_factory.mktemp("avatars")
    bank = (green_lips(crop, xy)[None], xy[None])
    return (
        read_avatar(make_avatar(folder / "plain.avatar", crop)),
        read_avatar(make_avatar(folder / "bank.avatar", crop, face_bank=bank)),
    )


def test_the_generator_draws_an_avatars_face_bank(face, avatars):
    from reenact.config import load_config
    from reenact.engine.shipped import shipped_weights
    from reenact.render.generator import load_generator_renderer

    crop, xy = face
    config = load_config(None, ["renderer.quantize=off"])
    renderer = load_generator_renderer(shipped_weights("generator", 256), config)
    renderer.set_target(crop, xy)
    plain, banked = avatars
    drive = (xy + mouth_open(xy, 0.15)).astype(np.float32)
    lips = MOUTH.mask(drive, 256, 0) > 0.5
    renderer.set_avatar(plain)
    assert renderer.parts.bank is None
    without = renderer.render(drive).copy()
    renderer.set_avatar(banked)
    with_bank = renderer.render(drive).copy()
    assert green(with_bank, lips) > green(without, lips) + 40
    far = (MOUTH.mask(drive, 256, 12) < 0.5) & (EYES.mask(drive, 256, 16) < 0.5)
    assert np.abs(with_bank[far].astype(int) - without[far]).max() <= 1
    # another picture set after the avatar is not its own: the bank waits for set_avatar
    renderer.set_target(crop, xy)
    assert green(renderer.render(drive), lips) < green(with_bank, lips) - 40
    renderer.set_avatar(banked)
    assert green(renderer.render(drive), lips) > green(without, lips) + 40
    renderer.set_avatar(None)
    assert renderer.parts.bank is None


def test_a_staged_avatar_frame_keeps_its_bank_and_draws_it_when_it_runs(face, avatars, monkeypatch):
    """The live loop stages frame N, then may switch targets before frame N runs on the worker:
    frame N still has the avatar's own lips, and the bank's work is done in the run, not while
    staging (the staging thread is the loop's, which tracks the next frame meanwhile)."""
    from reenact.config import load_config
    from reenact.engine.shipped import shipped_weights
    from reenact.render import face_bank
    from reenact.render.generator import load_generator_renderer

    crop, xy = face
    config = load_config(None, ["renderer.quantize=off"])
    renderer = load_generator_renderer(shipped_weights("generator", 256), config)
    renderer.set_target(crop, xy)
    _plain, banked = avatars
    renderer.set_avatar(banked)
    drive = (xy + mouth_open(xy, 0.15)).astype(np.float32)
    lips = MOUTH.mask(drive, 256, 0) > 0.5
    expected = renderer.render(drive).copy()
    assert green(expected, lips) > 100

    calls = []
    drawn = face_bank.FaceBank.patches
    monkeypatch.setattr(
        face_bank.FaceBank, "patches", lambda *a, **k: calls.append(1) or drawn(*a, **k)
    )
    run = renderer.stage(drive)
    assert not calls  # staged: nothing of the bank done yet
    renderer.set_target(crop, xy)  # another picture: the bank waits for set_avatar
    assert np.array_equal(run(), expected)
    assert calls == [1]
    assert green(renderer.render(drive), lips) < green(expected, lips) - 40


def test_the_device_renderer_draws_an_avatars_face_bank(face, avatars):
    """The CUDA path's renderer, eager on the CPU here: the bank is pasted on the host."""
    pytest.importorskip("torch")
    from reenact.render.avatar_cuda import AvatarDeviceRenderer
    from reenact.render.generator import load_generator
    from tests.avatar_files import SHIPPED_WEIGHTS

    crop, xy = face
    model, meta = load_generator(SHIPPED_WEIGHTS)
    renderer = AvatarDeviceRenderer(model=model, meta=meta, weights=SHIPPED_WEIGHTS, device="cpu")
    renderer.set_target(crop, xy)
    plain, banked = avatars
    drive = (xy + mouth_open(xy, 0.15)).astype(np.float32)
    lips = MOUTH.mask(drive, 256, 0) > 0.5
    renderer.set_avatar(plain)
    without = renderer.render(drive).copy()
    renderer.set_avatar(banked)
    assert green(renderer.render(drive), lips) > green(without, lips) + 40
    renderer.set_target(crop, xy)  # another picture: no bank until set_avatar names the avatar
    assert green(renderer.render(drive), lips) < green(without, lips) + 10


def green(image: np.ndarray, mask: np.ndarray) -> float:
    return tint(image, mask, 1)


def test_a_part_set_to_network_is_not_drawn_from_the_bank(face, tmp_path):
    from reenact.avatar import read_avatar
    from reenact.config import load_config
    from reenact.engine.shipped import shipped_weights
    from reenact.render.generator import load_generator_renderer
    from tests.avatar_files import make_avatar

    crop, xy = face
    frame = green_lips(crop, xy)
    for rows in EYES.outlines:
        cv2.fillPoly(
            frame, [cv2.convexHull(np.round(xy[rows, :2]).astype(np.int32))], BLUE.tolist()
        )
    banked = read_avatar(
        make_avatar(tmp_path / "bank.avatar", crop, face_bank=(frame[None], xy[None]))
    )
    config = load_config(None, ["renderer.quantize=off", "renderer.mouth=network"])
    renderer = load_generator_renderer(shipped_weights("generator", 256), config)
    renderer.set_target(crop, xy)
    renderer.set_avatar(banked)
    out = renderer.render(xy.astype(np.float32)).copy()
    lips, eyes = MOUTH.mask(xy, 256, 0) > 0.5, EYES.mask(xy, 256, 0) > 0.5
    assert tint(out, eyes, 2) > tint(crop, eyes, 2) + 60  # the eyes: "auto", from the bank
    assert tint(out, lips, 1) < tint(crop, lips, 1) + 20  # the mouth: the network's own


def test_the_banks_warps_leave_the_shared_inversions_alone(face):
    """The detail layer reuses the target warp's inversion from a memo of four; a bank's warps
    of other frames must not push it out."""
    from reenact.render.field_memo import BACKWARDS

    crop, xy = face
    bank = FaceBank(np.stack([crop, crop]), np.stack([xy, xy + mouth_open(xy, 0.2)]))
    BACKWARDS.clear()
    for amount in (0.0, 0.1, 0.2, 0.3):
        bank.patches(xy + mouth_open(xy, amount), crop)
    assert len(BACKWARDS) == 0


def test_a_parts_warp_is_the_whole_warps_pixels_in_its_box(face):
    """The bank warps only each part's box: the same pixels as a whole warp of the frame that
    paints nothing, and its own frame's pixels where the warp's map does not reach."""
    from reenact.render.warp import WarpRenderer

    crop, xy = face
    opened = xy + mouth_open(xy, 0.3)
    bank = FaceBank(crop[None], xy[None])
    whole = WarpRenderer(fill_mouth=False, keep_eyes=False, lip_bands=False, shared=False)
    whole.set_target(crop, xy)
    drive = xy + close_eye(xy, "left", 0.8)
    drive[:, :2] += (opened - xy)[:, :2]
    expected = whole.render(drive[:, :2])
    for part in (MOUTH, EYES):
        box = bank._box(part, drive)
        x0, y0, x1, y1 = box
        bank.patches(drive, crop, (part,))  # the map of frame 0 for this drive
        np.testing.assert_array_equal(
            bank._warped(0, box, bank.fields[0].roi), expected[y0:y1, x0:x1].astype(np.float32)
        )
        assert not np.array_equal(expected[y0:y1, x0:x1], crop[y0:y1, x0:x1])  # it did move


def test_an_avatars_bank_is_prepared_with_its_target_not_on_a_frame(
    face, avatars, tmp_path, monkeypatch
):
    """Switching to an avatar live must not stall a frame on its bank's ~70 warp fields: they
    are worked out where targets are prepared, once, and the renderer uses those."""
    from reenact.config import load_config
    from reenact.engine.shipped import shipped_weights
    from reenact.pipeline.target import prepare_target
    from reenact.render import face_bank
    from reenact.render.generator import load_generator_renderer
    from tests.avatar_files import make_avatar

    made = []
    kept_fields = face_bank.kept_fields
    monkeypatch.setattr(face_bank, "kept_fields", lambda *a: made.append(1) or kept_fields(*a))
    crop, xy = face
    path = make_avatar(tmp_path / "bank.avatar", crop, face_bank=(crop[None], xy[None]))
    config = load_config(None, [f"stream.target={path}", "renderer.kind=generator"])
    target = prepare_target(str(path), config)
    assert made == [1]  # with the target
    renderer = load_generator_renderer(shipped_weights("generator", 256), config)
    renderer.set_target(target.crop, target.landmarks_crop)
    renderer.set_avatar(target.avatar)
    assert made == [1]  # not again on the frame thread
    assert renderer.parts.bank is not None and len(renderer.parts.bank.fields) == 1
    assert face_bank.prepare(avatars[0]) is None  # no bank, nothing to prepare
    warp = load_config(None, [f"stream.target={path}", "renderer.kind=warp"])
    prepare_target(str(path), warp)
    assert made == [1]  # the warp draws no bank: nothing prepared for it


def test_a_renderer_declares_the_bank_parts_it_draws() -> None:
    """Targets prepare an avatar's bank for the renderer the config builds, as that renderer
    declares (`register_renderer(..., bank_parts=...)`), not by its name."""
    from reenact.config import load_config
    from reenact.render import avatar_bank_parts

    def parts(*settings: str) -> tuple:
        return avatar_bank_parts(load_config(None, list(settings)))

    assert parts("renderer.kind=generator") == (MOUTH, EYES)
    assert parts("renderer.kind=auto") == (MOUTH, EYES)  # the shipped generator exists
    assert parts("renderer.kind=generator", "renderer.mouth=network") == (EYES,)
    assert parts("renderer.kind=generator", "renderer.eyes=warp", "renderer.mouth=warp") == ()
    assert parts("renderer.kind=warp") == ()
