"""reenact.imageio on real portraits turned into the awkward files people hand in."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from reenact import imageio
from reenact.errors import InputError, ReenactError
from reenact.imageio import load_image, save_image

PORTRAIT = "lp_s0.jpg"  # 600x704 (W x H): not square, so orientation mistakes show


@pytest.fixture(scope="module")
def portrait(portraits_dir: Path) -> np.ndarray:
    """The real portrait as RGB, decoded directly by OpenCV: (704, 600, 3) uint8."""
    bgr = cv2.imread(str(portraits_dir / PORTRAIT), cv2.IMREAD_COLOR)
    assert bgr is not None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _write_png(path: Path, image_bgr_like: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), image_bgr_like)
    return path


def _assert_one_line_naming(exc: pytest.ExceptionInfo, path: Path) -> None:
    message = str(exc.value)
    assert "\n" not in message
    assert path.name in message


def test_jpeg_portrait_loads_as_rgb(portraits_dir: Path, portrait: np.ndarray) -> None:
    image = load_image(portraits_dir / PORTRAIT)
    assert image.shape == (704, 600, 3) and image.dtype == np.uint8
    assert image.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(image, portrait)


def test_grayscale_png_is_replicated_to_three_channels(
    tmp_path: Path, portrait: np.ndarray
) -> None:
    gray = cv2.cvtColor(portrait, cv2.COLOR_RGB2GRAY)
    image = load_image(_write_png(tmp_path / "gray.png", gray))
    assert image.shape == (704, 600, 3)
    for channel in range(3):
        np.testing.assert_array_equal(image[:, :, channel], gray)


def test_16bit_png_is_rounded_to_8bit(tmp_path: Path, portrait: np.ndarray) -> None:
    wide = portrait.astype(np.uint16) * 257  # exact 8 -> 16 bit expansion
    wide[:8] += 100  # small offsets must round back to the same 8-bit value
    wide16 = cv2.cvtColor(wide, cv2.COLOR_RGB2BGR)
    image = load_image(_write_png(tmp_path / "deep.png", wide16))
    assert image.dtype == np.uint8
    np.testing.assert_array_equal(image, portrait)


def test_16bit_full_range_maps_to_full_8bit_range(tmp_path: Path) -> None:
    ramp = np.array([[0, 128, 32768, 65407, 65535]], dtype=np.uint16)
    image = load_image(_write_png(tmp_path / "ramp.png", ramp))
    assert image[0, :, 0].tolist() == [0, 0, 128, 255, 255]


def test_rgba_png_is_composited_over_mid_grey(tmp_path: Path, portrait: np.ndarray) -> None:
    height, width = portrait.shape[:2]
    alpha = np.full((height, width), 255, np.uint8)
    alpha[:, width // 2 :] = 0  # right half transparent
    alpha[: height // 4] = 128  # top quarter half transparent
    bgra = np.dstack([cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR), alpha])
    bgra[:, width // 2 :, :3] = 0  # what editors often leave under transparent pixels
    image = load_image(_write_png(tmp_path / "cutout.png", bgra))
    assert image.shape == (height, width, 3)
    q = height // 4
    np.testing.assert_array_equal(image[q:, : width // 2], portrait[q:, : width // 2])
    assert np.all(image[q:, width // 2 :] == 128)
    half = portrait[:q, : width // 2].astype(np.float32) * (128 / 255) + 128 * (127 / 255)
    assert np.abs(image[:q, : width // 2] - half).max() <= 1.0


def test_grey_with_alpha_png(tmp_path: Path, portrait: np.ndarray) -> None:
    gray = cv2.cvtColor(portrait, cv2.COLOR_RGB2GRAY)
    alpha = np.full_like(gray, 255)
    alpha[:100] = 0
    path = tmp_path / "la.png"
    Image.fromarray(np.dstack([gray, alpha]), mode="LA").save(path)
    image = load_image(path)
    assert image.shape == (704, 600, 3)
    assert np.all(image[:100] == 128)
    np.testing.assert_array_equal(image[100:, :, 1], gray[100:])


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_exif_orientation_is_applied(tmp_path: Path, portrait: np.ndarray, suffix: str) -> None:
    path = tmp_path / f"rotated{suffix}"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, displayed rotated 90 degrees clockwise
    Image.fromarray(portrait).save(path, exif=exif, quality=95)
    image = load_image(path)
    assert image.shape == (600, 704, 3)
    expected = np.rot90(portrait, k=-1)
    assert np.abs(image.astype(np.int16) - expected).mean() < 2.0


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(
    tmp_path: Path, portrait: np.ndarray, orientation: int
) -> None:
    small = cv2.resize(portrait, (150, 176), interpolation=cv2.INTER_AREA)
    path = tmp_path / f"o{orientation}.png"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(small).save(path, exif=exif)
    with Image.open(path) as stored:
        expected = np.asarray(ImageOps.exif_transpose(stored).convert("RGB"))
    np.testing.assert_array_equal(load_image(path), expected)


def test_huge_jpeg_is_decoded_reduced(tmp_path: Path, portrait: np.ndarray, monkeypatch) -> None:
    huge = cv2.resize(portrait, (7680, 4320), interpolation=cv2.INTER_LINEAR)
    path = tmp_path / "8k.jpg"
    assert cv2.imwrite(str(path), cv2.cvtColor(huge, cv2.COLOR_RGB2BGR))
    seen_flags = []
    real_imdecode = cv2.imdecode

    def spy(data, flags):
        seen_flags.append(flags)
        return real_imdecode(data, flags)

    monkeypatch.setattr(imageio.cv2, "imdecode", spy)
    image = load_image(path, max_side=1024)
    assert seen_flags == [cv2.IMREAD_REDUCED_COLOR_4]  # 7680/4 = 1920 >= 1024 > 7680/8
    assert image.shape == (576, 1024, 3)
    expected = cv2.resize(huge, (1024, 576), interpolation=cv2.INTER_AREA)
    assert np.abs(image.astype(np.int16) - expected).mean() < 4.0


def test_huge_png_is_resized_to_max_side(tmp_path: Path, portrait: np.ndarray) -> None:
    huge = cv2.resize(portrait, (7680, 4320), interpolation=cv2.INTER_NEAREST)
    path = tmp_path / "8k.png"
    assert cv2.imwrite(
        str(path), cv2.cvtColor(huge, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1]
    )
    del huge
    image = load_image(path)
    assert image.shape == (1152, 2048, 3)
    expected = cv2.resize(portrait, (2048, 1152), interpolation=cv2.INTER_AREA)
    assert np.abs(image.astype(np.int16) - expected).mean() < 4.0


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nobody.png"
    with pytest.raises(InputError, match="not found") as exc:
        load_image(path)
    _assert_one_line_naming(exc, path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty") as exc:
        load_image(path)
    _assert_one_line_naming(exc, path)


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is a text file with an image extension\n" * 20)
    with pytest.raises(InputError, match="not a readable image") as exc:
        load_image(path)
    _assert_one_line_naming(exc, path)


def test_directory_is_not_an_image(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory") as exc:
        load_image(tmp_path)
    _assert_one_line_naming(exc, tmp_path)


def test_save_image_round_trip_is_atomic(tmp_path: Path, portrait: np.ndarray) -> None:
    path = tmp_path / "nested" / "dir" / "out.png"
    assert save_image(path, portrait) == path
    np.testing.assert_array_equal(load_image(path), portrait)
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.png"]  # no temporary left
    save_image(path, portrait[::-1].copy())  # overwrite in place
    np.testing.assert_array_equal(load_image(path), portrait[::-1])
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.png"]


def test_save_image_errors(tmp_path: Path, portrait: np.ndarray) -> None:
    with pytest.raises(ReenactError, match="extension") as exc:
        save_image(tmp_path / "out.nope", portrait)
    _assert_one_line_naming(exc, tmp_path / "out.nope")
    unwritable = Path("/proc/nonexistent/out.png")
    with pytest.raises(ReenactError) as exc:
        save_image(unwritable, portrait)
    _assert_one_line_naming(exc, unwritable)


def test_gif_data_under_a_png_name_is_read(media_dir):
    """The Yale stills are GIF87a data named .png: read through Pillow, as RGB."""
    path = media_dir / "expressions" / "01_happy.png"
    assert path.read_bytes()[:4] == b"GIF8"
    image = load_image(path)
    assert image.shape == (243, 320, 3) and image.dtype == np.uint8
    assert (image[..., 0] == image[..., 1]).all() and image.std() > 10
