"""The generator's input and output conversions (reenact.render.generator.to_unit, to_image)
plane by plane: element for element what the strided numpy expressions they replace gave, on a
real target crop and on network outputs past both ends of [-1, 1]."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from reenact.render.generator import to_image, to_unit


def _strided_unit(image: np.ndarray) -> np.ndarray:
    out = np.zeros((image.shape[2],) + image.shape[:2], np.float32)
    np.multiply(image.transpose(2, 0, 1), 2.0 / 255.0, out=out, casting="unsafe")
    out -= 1.0
    return out


def _strided_image(y: np.ndarray) -> np.ndarray:
    y = y.copy()
    out = np.zeros(y.shape[1:] + (y.shape[0],), np.uint8)
    np.clip((y.transpose(1, 2, 0) + 1.0) * 127.5 + 0.5, 0, 255, out=y.transpose(1, 2, 0))
    np.copyto(out, y.transpose(1, 2, 0), casting="unsafe")
    return out


def test_a_crop_to_the_network_and_back(portraits_dir: Path):
    image = cv2.cvtColor(cv2.imread(str(portraits_dir / "lp_s11.jpg")), cv2.COLOR_BGR2RGB)
    crop = np.ascontiguousarray(cv2.resize(image, (256, 256), interpolation=cv2.INTER_AREA))
    x = np.zeros((1, 7, 256, 256), np.float32)
    to_unit(crop, x[0, 4:7])  # a slice of the network's input, as the renderer writes it
    assert np.array_equal(x[0, 4:7], _strided_unit(crop))
    assert not x[0, :4].any()
    out = np.zeros((256, 256, 3), np.uint8)
    y = x[0, 4:7].copy()
    assert to_image(y, out) is out
    assert np.array_equal(out, crop)  # levels survive the round trip


def test_outputs_past_the_range_round_and_saturate_as_before():
    rng = np.random.default_rng(3)
    y = (rng.standard_normal((3, 64, 64)) * 0.9).astype(np.float32)
    y[0, 0, :6] = [-3.0, 3.0, -1.0, 1.0, 0.9960784, -0.99607843]
    expected = _strided_image(y)
    out = np.empty((64, 64, 3), np.uint8)
    to_image(y, out)
    assert np.array_equal(out, expected)
    assert out[0, 0, 0] == 0 and out[0, 1, 0] == 255
