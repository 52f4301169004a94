"""`reenact.image_header.probe` against the real decoder: for every format OpenCV writes, the
header's size is the decoded size and its bytes per pixel cover what cv2.imdecode returned."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from reenact.image_header import Unsized, opencv_format, probe

WIDTH, HEIGHT = 37, 23
_RNG = np.random.default_rng(85)


def _pixels(channels: int, dtype) -> np.ndarray:
    shape = (HEIGHT, WIDTH) if channels == 1 else (HEIGHT, WIDTH, channels)
    if np.dtype(dtype).kind == "f":
        return _RNG.random(shape, dtype=np.float32)
    return _RNG.integers(0, np.iinfo(dtype).max, shape, dtype=dtype)


# (suffix, channels, dtype): what OpenCV itself encodes and decodes
WRITTEN = [
    (".png", 1, np.uint8),
    (".png", 3, np.uint8),
    (".png", 4, np.uint8),
    (".png", 1, np.uint16),
    (".png", 3, np.uint16),
    (".png", 4, np.uint16),
    (".jpg", 1, np.uint8),
    (".jpg", 3, np.uint8),
    (".webp", 3, np.uint8),
    (".webp", 4, np.uint8),
    (".bmp", 1, np.uint8),
    (".bmp", 3, np.uint8),
    (".tif", 1, np.uint8),
    (".tif", 3, np.uint8),
    (".tif", 4, np.uint16),
    (".tif", 3, np.float32),
    (".hdr", 3, np.float32),
    (".pfm", 1, np.float32),
    (".pfm", 3, np.float32),
    (".pgm", 1, np.uint8),
    (".pgm", 1, np.uint16),
    (".ppm", 3, np.uint8),
    (".pbm", 1, np.uint8),
    (".ras", 3, np.uint8),
]


@pytest.mark.parametrize(
    ("suffix", "channels", "dtype"),
    WRITTEN,
    ids=[f"{s[1:]}-{c}-{np.dtype(d).name}" for s, c, d in WRITTEN],
)
def test_header_matches_what_opencv_decodes(suffix, channels, dtype):
    ok, encoded = cv2.imencode(suffix, _pixels(channels, dtype))
    assert ok
    data = encoded.tobytes()
    header = probe(data)
    decoded = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    assert header is not None and header.opencv and opencv_format(data) is not None
    assert (header.height, header.width) == decoded.shape[:2] == (HEIGHT, WIDTH)
    decoded_bpp = decoded.itemsize * (1 if decoded.ndim == 2 else decoded.shape[2])
    assert decoded_bpp <= header.bytes_per_pixel <= 4 * decoded_bpp, (decoded.dtype, decoded.shape)


def test_jpeg2000_written_by_pillow():
    buffer = io.BytesIO()
    Image.fromarray(_pixels(3, np.uint8)).save(buffer, "JPEG2000")
    header = probe(buffer.getvalue())
    decoded = cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_UNCHANGED)
    assert (header.height, header.width) == decoded.shape[:2] and header.bytes_per_pixel >= 3
    assert header.scratch_bytes >= WIDTH * HEIGHT * 3 * 4  # OpenJPEG's int32 samples


def test_gif_is_sized_for_pillow():
    buffer = io.BytesIO()
    Image.fromarray(_pixels(3, np.uint8)).convert("P").save(buffer, "GIF")
    header = probe(buffer.getvalue())
    assert header is not None and not header.opencv
    assert (header.width, header.height) == (WIDTH, HEIGHT)


def test_exr_header_is_read():
    """OpenEXR, written by hand (OpenCV's codec is off by default): dataWindow and channels."""
    import struct

    def attribute(name: bytes, kind: bytes, value: bytes) -> bytes:
        return name + b"\0" + kind + b"\0" + struct.pack("<i", len(value)) + value

    float_channel = struct.pack("<iB3xii", 2, 0, 1, 1)  # FLOAT, not linear, sampling 1 x 1
    channels = b"".join(n + b"\0" + float_channel for n in (b"B", b"G", b"R")) + b"\0"
    header = (
        b"\x76\x2f\x31\x01"
        + struct.pack("<I", 2)
        + attribute(b"channels", b"chlist", channels)
        + attribute(b"dataWindow", b"box2i", struct.pack("<iiii", 0, 0, 8999, 6999))
        + b"\0"
    )
    found = probe(header)
    assert (found.width, found.height, found.format) == (9000, 7000, "EXR")
    assert found.bytes_per_pixel == 12  # three float32 channels


def test_damaged_header_of_a_known_format_is_unsized():
    with pytest.raises(Unsized):
        probe(b"\xff\xd8\xff\xe0" + b"\0" * 40)  # JPEG signature, nothing Pillow can read
    assert probe(b"plain text, no image\n" * 4) is None
