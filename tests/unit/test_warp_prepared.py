"""A warp keeps what it worked out for a target (its field, each correction's prepared state)
while the caller keeps the target's crop, and draws a target set again exactly as a fresh warp
does: a moving target's frames come round each loop, a switch goes back to a picture."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from reenact.landmarks.scripted import close_eye, mouth_open
from reenact.render import warp as warp_module
from reenact.render.warp import WarpRenderer


@pytest.fixture(scope="module")
def two_faces(aligned_still, portraits_dir):
    return aligned_still(portraits_dir / "lp_s0.jpg"), aligned_still(portraits_dir / "lp_s11.jpg")


def drives(xy: np.ndarray) -> list[np.ndarray]:
    return [xy, xy + mouth_open(xy, 0.3), xy + close_eye(xy, "left", 0.9) + mouth_open(xy, 0.1)]


def fresh(
    crop: np.ndarray, xy: np.ndarray, drive: np.ndarray, drawn: str = "painted"
) -> np.ndarray:
    warp = WarpRenderer(drawn=drawn)
    warp.set_target(crop, xy)
    return warp.render(drive)


@pytest.mark.parametrize("drawn", ["painted", "learned"])
def test_a_target_set_again_is_drawn_as_a_fresh_warp_draws_it(two_faces, monkeypatch, drawn):
    """Learned corrections too: their painted parts (the cavity, the iris) keep each target's
    state apart."""
    (crop_a, xy_a), (crop_b, xy_b) = two_faces
    fields = []
    face_field = warp_module.face_field
    monkeypatch.setattr(
        warp_module, "face_field", lambda *a, **k: fields.append(1) or face_field(*a, **k)
    )
    warp, compared = WarpRenderer(drawn=drawn), 0
    for _ in range(3):  # a, b, a, b, a, b: prepared once each
        for crop, xy in ((crop_a, xy_a), (crop_b, xy_b)):
            warp.set_target(crop, xy)
            for drive in drives(xy):
                np.testing.assert_array_equal(warp.render(drive), fresh(crop, xy, drive, drawn))
                compared += 1
    assert len(fields) == 2 + compared  # the warp's two fields, and one per fresh warp


def test_a_buffer_refilled_with_another_picture_is_prepared_again(two_faces):
    (crop_a, xy_a), (crop_b, _) = two_faces
    buffer = crop_a.copy()
    warp = WarpRenderer()
    warp.set_target(buffer, xy_a)
    buffer[:] = crop_b  # the same array, another picture, the same landmarks
    warp.set_target(buffer, xy_a)
    drive = xy_a + mouth_open(xy_a, 0.3)
    np.testing.assert_array_equal(warp.render(drive), fresh(crop_b, xy_a, drive))


def test_what_a_warp_keeps_goes_with_the_targets_crop(two_faces):
    (crop_a, xy_a), _ = two_faces
    warp = WarpRenderer()
    crops = [crop_a.copy() for _ in range(5)]
    for crop in crops:
        warp.set_target(crop, xy_a)
    assert len(warp._prepared) == 5
    del crops, crop
    gc.collect()
    assert len(warp._prepared) == 1  # the crop still set
