"""The image source: a real portrait, endlessly, at a stated rate and size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.errors import InputError
from reenact.imageio import load_image
from reenact_plugins.sources.image import ImageSource


def test_endless_copies_of_the_portrait(portrait_path: Path) -> None:
    expected = load_image(portrait_path)
    with ImageSource(ImageSource.Options(path=str(portrait_path))) as source:
        assert (source.width, source.height, source.fps) == (600, 704, 30.0)
        frames = [source.read() for _ in range(100)]
    assert all(frame is not None for frame in frames)
    assert [f.index for f in frames] == list(range(100))
    assert frames[99].pts_s == pytest.approx(99 / 30)
    np.testing.assert_array_equal(frames[0].image, expected)
    frames[0].image[:] = 0  # a consumer drawing on one frame does not change the next
    np.testing.assert_array_equal(frames[1].image, expected)


def test_resize_and_rate(portrait_path: Path) -> None:
    with ImageSource(ImageSource.Options(path=str(portrait_path), height=352, fps=12.5)) as source:
        assert (source.width, source.height, source.fps) == (300, 352, 12.5)
        image = source.read().image
    expected = cv2.resize(load_image(portrait_path), (300, 352), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(image, expected)


def test_missing_image(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        ImageSource(ImageSource.Options(path=str(tmp_path / "nobody.jpg")))
