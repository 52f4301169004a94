"""The backward field shared between the warp renderer and the detail layer
(reenact.render.field_memo): the same array bit for bit as computing it afresh, shared only
between fields of one mesh, recomputed for another target or another move, and the composited
frame unchanged by it. On real portraits tracked by MediaPipe."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.config.schema import TrackerConfig
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.regions import REGIONS
from reenact.landmarks.tracker import detect_target_face
from reenact.pipeline.composite import Compositor
from reenact.render import field_memo
from reenact.render.field import NUM_MESH, face_field
from reenact.render.warp import WarpRenderer

SIZE, GRID, ITERATIONS = 256, 64, 3


def _target(portraits_dir: Path, name: str):
    """(frame, alignment, crop (S,S,3) uint8, crop landmarks (478,3) float32) of a portrait."""
    frame = cv2.cvtColor(cv2.imread(str(portraits_dir / f"{name}.jpg")), cv2.COLOR_BGR2RGB)
    landmarks = detect_target_face(frame, TrackerConfig(), source_name=name)
    alignment = compute_alignment(landmarks, SIZE)
    crop_lm = alignment.landmarks_to_crop(landmarks).astype(np.float32)
    return frame, alignment, alignment.crop_image(frame), crop_lm


@pytest.fixture(scope="module")
def targets(portraits_dir: Path):
    return _target(portraits_dir, "lp_s11"), _target(portraits_dir, "lp_s1")


@pytest.fixture(autouse=True)
def _empty_memo():
    field_memo.BACKWARDS.clear()
    yield
    field_memo.BACKWARDS.clear()


def _smile(landmarks: np.ndarray) -> np.ndarray:
    """The mouth opened 6 crop pixels and its corners pulled out 3: a move that folds nothing."""
    drawn = landmarks.copy()
    lower = np.r_[REGIONS["lips_inner"], REGIONS["lips_outer"]]
    lower = lower[drawn[lower, 1] > drawn[14, 1] - 1.0]
    drawn[lower, 1] += 6.0
    drawn[61, 0] -= 3.0
    drawn[291, 0] += 3.0
    return drawn


def _move(landmarks: np.ndarray, drawn: np.ndarray):
    disp = drawn[:NUM_MESH, :2] - landmarks[:NUM_MESH, :2]
    return np.ascontiguousarray(disp, np.float32), drawn[:NUM_MESH, 2].copy()


def test_the_shared_field_is_the_one_computed_afresh(targets):
    _frame, _alignment, _crop, landmarks = targets[0]
    disp, depth = _move(landmarks, _smile(landmarks))
    field = face_field(landmarks[:, :2], SIZE, grid=GRID)
    own = face_field(landmarks[:, :2], SIZE, grid=GRID)  # another field of the same mesh
    fresh = own.backward(own.forward(disp), ITERATIONS, depth)
    got = field_memo.moved_back(field, disp, ITERATIONS, depth)
    assert np.array_equal(got, fresh)
    assert not got.flags.writeable
    # the other field of that mesh asks for the same move: the same array, not a new one
    assert field_memo.moved_back(own, disp.copy(), ITERATIONS, depth.astype(np.float64)) is got


def test_another_target_or_move_is_computed_for_itself(targets):
    (_f, _a, _c, first), (_f2, _a2, _c2, second) = targets
    disp, depth = _move(first, _smile(first))
    field = face_field(first[:, :2], SIZE, grid=GRID)
    other = face_field(second[:, :2], SIZE, grid=GRID)
    assert field.key != other.key
    got = field_memo.moved_back(field, disp, ITERATIONS, depth)
    # the same displacement on another target's mesh: that mesh's own inversion
    theirs = field_memo.moved_back(other, disp, ITERATIONS, depth)
    assert theirs is not got
    assert np.array_equal(theirs, other.backward(other.forward(disp), ITERATIONS, depth))
    assert not np.array_equal(theirs, got)
    # another move, another depth, no depth, other iterations: each its own
    moved = disp.copy()
    moved[13] += 0.5
    for args in (
        (moved, ITERATIONS, depth),
        (disp, ITERATIONS, depth + 1.0),
        (disp, ITERATIONS, None),
        (disp, 2, depth),
    ):
        again = field_memo.moved_back(field, *args)
        assert again is not got
        assert np.array_equal(again, field.backward(field.forward(args[0]), *args[1:]))


def test_the_composited_frame_is_unchanged_by_sharing(targets, monkeypatch):
    """The warp renders a move and the detail layer puts the picture's detail back with it,
    once sharing the inverted field and once computing it twice: the same frame, bit for bit."""
    frame, alignment, crop, landmarks = targets[1]
    drawn = _smile(landmarks)

    def composite() -> np.ndarray:
        warp = WarpRenderer(size=SIZE)
        warp.set_target(crop, landmarks)
        rendered = warp.render(drawn)
        compositor = Compositor(
            target_frame=frame,
            alignment=alignment,
            target_landmarks_crop=landmarks,
            blend="feather",
        )
        return compositor.paste(rendered, drawn).copy()

    hits = []
    find = field_memo.BackwardMemo.find

    def counted(self, *args):
        found = find(self, *args)
        hits.append(found is not None)
        return found

    monkeypatch.setattr(field_memo.BackwardMemo, "find", counted)
    shared = composite()
    assert hits == [False, True]  # the warp computed it, the detail layer found it
    monkeypatch.setattr(field_memo.BackwardMemo, "find", lambda self, *args: None)
    assert np.array_equal(composite(), shared)
