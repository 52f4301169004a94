"""The eval's sample strips: a cell with nothing drawn says so, and is not a black picture."""

from __future__ import annotations

import numpy as np

from reenact_lab.eval.plots import ABSENT_GREY, sample_strip
from reenact.imageio import load_image

TILE = 96
HEADER = 28


def _cells(path, columns: int) -> list[np.ndarray]:
    grid = load_image(path)
    body = grid[HEADER:]
    return [body[:, c * TILE : (c + 1) * TILE] for c in range(columns)]


def test_a_cell_with_nothing_drawn_is_grey_and_says_why(tmp_path):
    face = np.full((64, 64, 3), 180, np.uint8)
    face[20:40, 20:40] = 30
    path = sample_strip(
        {"drawn": [face], "preset": ["nothing for sleepy"], "short": []},
        tmp_path / "strip.png",
        tile=TILE,
    )
    drawn, absent, short = _cells(path, 3)
    assert drawn.shape == (TILE, TILE, 3)
    assert drawn.min() < 60 and np.median(drawn) > 150  # the crop, resized
    for cell in (absent, short):
        assert np.median(cell) == ABSENT_GREY  # grey, not the black a failed render shows
        assert (cell > 200).mean() > 0.005  # white text on it
        assert cell.min() >= ABSENT_GREY - 40  # nothing black
    assert not np.array_equal(absent, short)  # each says its own text ("n/a" when short)


def test_longer_text_wraps_inside_the_cell(tmp_path):
    text = "nothing drawn for this condition by a class-driven renderer"
    path = sample_strip({"a": [text]}, tmp_path / "strip.png", tile=TILE)
    (cell,) = _cells(path, 1)
    lit = np.argwhere(cell > 200)
    rows = np.unique(lit[:, 0])
    assert lit[:, 1].min() >= 2 and lit[:, 1].max() <= TILE - 3  # no word runs off the edge
    assert rows.max() - rows.min() > 40  # several lines
