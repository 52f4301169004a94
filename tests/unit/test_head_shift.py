"""`reenact_lab.eval.head_shift.uncovered_outline`: the wall a moved head uncovers, against the wall
beside it, on drawn frames whose answer is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reenact_lab.eval.head_shift import MOVES, move_labels, uncovered_outline

SIZE, IOD = 400, 60.0
SHIFT = np.array([[1.0, 0.0, 18.0], [0.0, 1.0, 0.0]])  # the head moves 0.3 IOD to the right


def _wall() -> np.ndarray:
    """A plain wall with a soft left-to-right shading and a little sensor noise."""
    rng = np.random.default_rng(7)
    shade = np.linspace(150, 175, SIZE, dtype=np.float32)[None, :, None]
    wall = np.broadcast_to(shade, (SIZE, SIZE, 3)) + rng.normal(0, 0.6, (SIZE, SIZE, 3))
    return np.clip(wall, 0, 255).astype(np.uint8)


def _head(image: np.ndarray, centre: tuple[int, int]) -> None:
    cv2.ellipse(image, centre, (90, 120), 0, 0, 360, (60, 45, 35), -1, cv2.LINE_AA)


def _person() -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), np.uint8)
    _head(mask, (200, 220))
    return mask > 0


def test_a_clean_move_uncovers_the_wall_and_scores_low():
    output = _wall()
    _head(output, (218, 220))  # moved whole: the wall it left is the wall
    rate = uncovered_outline(output, _person(), SHIFT, IOD, top=SIZE)
    assert rate < 0.02, rate


def test_a_ghost_of_the_old_outline_scores_high():
    output = _wall()
    # the old outline's loose ends left on the wall: dark dots just outside where the head was
    rng = np.random.default_rng(3)
    for angle in rng.uniform(0, 2 * np.pi, 160):
        x = 200 + (90 + rng.uniform(2, 7)) * np.cos(angle)
        y = 220 + (120 + rng.uniform(2, 7)) * np.sin(angle)
        cv2.circle(output, (int(x), int(y)), 1, (70, 60, 50), -1)
    _head(output, (218, 220))
    rate = uncovered_outline(output, _person(), SHIFT, IOD, top=SIZE)
    assert rate > 0.1, rate


def test_a_plate_of_another_shade_shows_its_edge():
    """The uncovered wall filled a little darker than the wall around it, with a hard edge."""
    output = _wall()
    hole = np.zeros((SIZE, SIZE), np.uint8)
    cv2.ellipse(hole, (200, 220), (96, 126), 0, 0, 360, 255, -1)
    output[hole > 0] = (output[hole > 0].astype(int) - 14).clip(0, 255).astype(np.uint8)
    _head(output, (218, 220))
    assert uncovered_outline(output, _person(), SHIFT, IOD, top=SIZE) > 0.03


def test_nothing_uncovered_is_not_a_number():
    output = _wall()
    _head(output, (200, 220))
    still = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert np.isnan(uncovered_outline(output, _person(), still, IOD, top=SIZE))
    # and nothing is measured below `top`
    assert np.isnan(uncovered_outline(output, _person(), SHIFT, IOD, top=0))


def test_a_frame_of_another_size_is_refused():
    with pytest.raises(ValueError, match="uncovered_outline"):
        uncovered_outline(np.zeros((10, 10, 3), np.uint8), _person(), SHIFT, IOD, top=SIZE)


def test_every_move_has_a_label():
    labels = move_labels()
    assert len(labels) == len(MOVES) == len(set(labels))
