"""The actor's creases onto the rendered crop (reenact.pipeline.creases), on real Yale stills."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.config import load_config
from reenact.pipeline.creases import LIGHTER, Creases, crease_weight

SIZE = 256


@pytest.fixture(scope="module")
def faces(media_dir: Path) -> dict:
    from reenact_lab.eval.still_sets import aligned_still

    config = load_config(None, [])
    folder = media_dir / "expressions"
    return {
        name: aligned_still(folder / f"{name}.png", config)
        for name in ("03_normal", "12_normal", "12_surprised")
    }


def _reference(crop, landmarks) -> Creases:
    creases = Creases(size=SIZE, strength=1.0, frames=1)
    creases.observe(crop, landmarks, landmarks, True)
    assert creases.held and creases.ready
    return creases


def _line(crop: np.ndarray, y: int, x0: int, x1: int, level: int) -> np.ndarray:
    """A hard line of grey `level` (a strand of hair, a glasses' rim)."""
    out = np.array(crop, copy=True)
    cv2.line(out, (x0, y), (x1, y), (level,) * 3, 2, lineType=cv2.LINE_AA)
    return out


def _fold(crop: np.ndarray, y: int, x0: int, x1: int, factor: float) -> np.ndarray:
    """A soft fold: the skin along a line 3 px wide darkened (lightened) to `factor` of itself,
    as a real crease does (a tenth or so)."""
    line = np.zeros(crop.shape[:2], np.float32)
    cv2.line(line, (x0, y), (x1, y), 1.0, 3, lineType=cv2.LINE_AA)
    line = cv2.GaussianBlur(line, (0, 0), 1.0)
    line /= line.max()
    out = crop.astype(np.float32) * (1.0 + (factor - 1.0) * line[..., None])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def test_the_reference_itself_carries_nothing(faces):
    crop, lm = faces["03_normal"]
    creases = _reference(crop, lm)
    ratio = creases.ratio(crop, lm)
    assert np.abs(ratio).max() == 0.0
    target, target_lm = faces["12_normal"]
    assert np.array_equal(creases.apply(target, ratio, target_lm), target)


def test_a_forehead_fold_is_carried_onto_the_target_and_glasses_are_not(faces):
    crop, lm = faces["03_normal"]
    creases = _reference(crop, lm)
    brow_top = int(lm[[105, 334], 1].min())  # the brows' upper line
    eye_y = int(lm[[33, 263], 1].mean())
    left, right = int(lm[[70], 0][0]), int(lm[[300], 0][0])
    fold = brow_top - 10  # a fold across the forehead, above the brows
    frame = _fold(crop, fold, left + 10, right - 10, 0.85)
    frame = _fold(frame, eye_y, left - 5, right + 5, 0.85)  # across the eyes: glasses' place
    ratio = creases.ratio(frame, lm)
    assert ratio[fold - 1 : fold + 2, left + 20 : right - 20].min() < -0.05
    assert np.abs(ratio[eye_y - 2 : eye_y + 3]).max() < 0.02
    # onto another face, drawn at its own neutral: the fold lies across its forehead
    target, target_lm = faces["12_normal"]
    out = creases.apply(target, ratio, target_lm).astype(np.int16)
    darker = (target.astype(np.int16) - out).max(axis=2)
    rows = np.flatnonzero(darker.max(axis=1) > 8)
    assert rows.size and rows.max() < target_lm[[105, 334], 1].min()  # above its brows
    # a shadow: the halo the band-pass leaves beside it is damped (LIGHTER) and far fainter
    assert darker.max() > 3 * -darker.min()


def test_what_a_fold_lightens_is_carried_damped(faces):
    crop, lm = faces["03_normal"]
    creases = _reference(crop, lm)
    y = int(lm[[105, 334], 1].min()) - 10
    x0, x1 = int(lm[70, 0]) + 10, int(lm[300, 0]) - 10
    darker = creases.ratio(_fold(crop, y, x0, x1, 0.88), lm)
    lighter = creases.ratio(_fold(crop, y, x0, x1, 1.12), lm)
    shade, light = (
        -darker[y - 1 : y + 2, x0 + 10 : x1 - 10].min(),
        lighter[y - 1 : y + 2, x0 + 10 : x1 - 10].max(),
    )
    assert 0.0 < light <= LIGHTER * shade * 1.2 and shade > 0.05, (shade, light)


def test_hair_across_the_forehead_is_not_carried(faces):
    """A dark, hard strand (a fringe that moved with the head, not with the skin; styletalk's
    Fei-Fei Li printed one as a grey streak on the target's forehead) is deeper and sharper than
    any fold: left out."""
    crop, lm = faces["03_normal"]
    creases = _reference(crop, lm)
    y = int(lm[[105, 334], 1].min()) - 12
    x0, x1 = int(lm[70, 0]) + 10, int(lm[300, 0]) - 10
    for level in (25, 60):
        ratio = creases.ratio(_line(crop, y, x0, x1, level), lm)
        assert np.abs(ratio[y - 6 : y + 7, x0 + 10 : x1 - 10]).max() < 0.03, level


def test_the_weight_leaves_out_the_eyes_band_and_the_mouth(faces):
    crop, lm = faces["12_normal"]
    weight = crease_weight(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32), lm)
    centre = lambda idx: tuple(int(v) for v in lm[idx, :2].mean(0))
    for eye in ([33, 133], [263, 362]):
        x, y = centre(eye)
        assert weight[y, x] < 0.05
    x, y = centre([13, 14])
    assert weight[y, x] < 0.05
    x, y = centre([2, 0])  # between the nose and the lip: a moustache's place
    assert weight[y, x] < 0.2
    x, y = centre([9])  # between the brows: a frown's place
    x, y = x, y - 8
    assert weight[y, x] > 0.3


def test_the_reference_is_the_frame_nearest_the_neutral_until_recalibrated(faces):
    (smiling, lm_s), (plain, lm_p) = faces["12_surprised"], faces["12_normal"]
    creases = Creases(size=SIZE, strength=1.0, frames=2)
    creases.observe(smiling, lm_s, None, False)
    assert not creases.ready  # no neutral yet: nothing chosen
    creases.observe(plain, lm_p, lm_p, False)
    assert creases.ready and not creases.held
    # the surprised frame again: its ratio against the chosen (plain) reference is not 0
    assert np.abs(creases.ratio(smiling, lm_s)).max() > 0.05
    creases.observe(smiling, lm_s, lm_p, True)
    assert creases.held
    creases.reset()
    assert not creases.ready and creases.ratio(plain, lm_p) is None


def test_the_reference_is_worked_out_only_when_creases_are_asked_for(faces, monkeypatch):
    """Calibrating with creases off (the default) builds no field: the reference's weight and
    mesh field (~12 ms) are worked out once, at the first ratio asked of the chosen frame, which
    the panel's slider can still turn on after calibration."""
    import reenact.pipeline.creases as module

    built = []
    real = module.face_field
    monkeypatch.setattr(module, "face_field", lambda *a, **k: built.append(1) or real(*a, **k))
    (smiling, lm_s), (plain, lm_p) = faces["12_surprised"], faces["12_normal"]
    creases = Creases(size=SIZE, strength=0.0, frames=2)
    creases.observe(smiling, lm_s, lm_s, False)
    creases.observe(plain, lm_p, lm_p, True)  # a nearer candidate, then held
    assert creases.held and creases.ready and creases.ratio(smiling, lm_s) is None
    assert built == []
    creases.strength = 1.0  # turned on live
    first = creases.ratio(smiling, lm_s)
    assert np.abs(first).max() > 0.05 and len(built) == 1
    np.testing.assert_array_equal(creases.ratio(smiling, lm_s), first)
    assert len(built) == 1


def test_a_line_along_the_faces_outline_is_not_carried(faces):
    """Where the face meets hair, ears and background (hdtf_aoc's jaw edge printed a dark line
    down the target's cheek): the outline's band is left out."""
    crop, lm = faces["03_normal"]
    creases = _reference(crop, lm)
    top, bottom = int(lm[234, 1]), int(lm[58, 1])  # the cheek's side, ear to jaw
    for side in (234, 454):
        x = int(lm[side, 0]) + (4 if side == 234 else -4)  # just inside the outline
        frame = np.array(crop, copy=True)
        cv2.line(frame, (x, top), (x, bottom), (30,) * 3, 2, lineType=cv2.LINE_AA)
        assert np.abs(creases.ratio(frame, lm)[top:bottom, x - 3 : x + 4]).max() < 0.02, side
