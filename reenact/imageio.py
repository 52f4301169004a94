"""Still images in and out: any OpenCV-readable file -> `(H, W, 3) uint8 RGB`, and atomic saving.

`load_image` copes with what people actually hand in as a target portrait: PNGs with alpha
(composited over mid-grey), grayscale scans, 16-bit PNG/TIFF (scaled to 8 bits with rounding),
EXIF-rotated phone photos, and huge images (an 8K JPEG is decoded at 1/2, 1/4 or 1/8 scale by
libjpeg, everything else is resized so its longer side is at most `max_side`).

Nothing is decoded before its header gave its size and bytes per pixel (`reenact.image_header`):
an image over MAX_PIXELS, or whose decoding would take over MAX_DECODE_BYTES, is refused
(ImageTooLarge), and so is one whose size cannot be read first (a damaged header).
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
from pathlib import Path

import cv2
import numpy as np

from reenact.errors import InputError, ReenactError
from reenact.files import special_kind
from reenact.image_header import MAX_DECODE_BYTES, MAX_PIXELS, ImageHeader, TooLarge, Unsized, probe

MID_GREY = 128  # background for transparent pixels (the target's frame: its alpha is kept apart)
_BAND_PIXELS = 1 << 20  # rows converted at a time: float temporaries of a few MB, not GB
_REDUCED_FLAGS = {
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}
# EXIF orientation -> (transpose first?, flip code for cv2.flip or None)
_ORIENTATION_OPS = {
    2: (False, 1),
    3: (False, -1),
    4: (False, 0),
    5: (True, None),
    6: (True, 1),
    7: (True, -1),
    8: (True, 0),
}


def _read_bytes(path: Path) -> np.ndarray:
    """The raw file as a 1-D uint8 array; one-line InputError when it cannot be used."""
    if not path.exists():
        raise InputError(f"image not found: {path}; check the path")
    kind = special_kind(path.stat().st_mode)
    if kind is not None:  # a FIFO would block np.fromfile until a writer comes
        raise InputError(f"{path} is {kind}, not an image file")
    try:
        data = np.fromfile(str(path), dtype=np.uint8)  # works with non-ASCII Windows paths
    except OSError as exc:
        reason = exc.strerror or exc
        raise InputError(f"cannot read image {path}: {reason}; check permissions") from exc
    if data.size == 0:
        raise InputError(f"image {path} is empty (0 bytes); re-export or copy it again")
    return data


def _header(data: np.ndarray, path: Path) -> ImageHeader | None:
    """The image's header (no pixels decoded), or None when no decoder knows the format.

    A format OpenCV would decode but whose size cannot be read is refused here, as is a header
    Pillow already knows to be a decompression bomb.
    """
    try:
        return probe(data.tobytes())
    except TooLarge as exc:
        raise _too_large(path, str(exc)) from None
    except Unsized as exc:
        raise InputError(
            f"image {path}: cannot tell its size before decoding ({exc}); "
            "re-export it as PNG or JPEG"
        ) from None


class ImageTooLarge(InputError):
    """An image refused from its header as too costly to decode; 413 where it was uploaded."""

    status = 413


def _too_large(path: Path, size: str) -> ImageTooLarge:
    return ImageTooLarge(
        f"image {path} is too large to decode ({size}); resize it below "
        f"{MAX_PIXELS // 1_000_000} Mpx and {MAX_DECODE_BYTES // 2**20} MiB decoded "
        "(e.g. to 4096 px on its longer side, 8 bits a sample)"
    )


def _check_cost(header: ImageHeader, path: Path, factor: int, extra: int = 0) -> None:
    """Refuse, before decoding, what has too many pixels or would take too many bytes."""
    size = f"{header.width}x{header.height}"
    if header.pixels > MAX_PIXELS:
        raise _too_large(path, size)
    cost = header.decode_bytes(factor) + extra
    if cost > MAX_DECODE_BYTES:
        raise _too_large(
            path,
            f"{size} at {header.bytes_per_pixel} bytes a pixel would take {cost / 2**20:.0f} MiB",
        )


def _reduction(width: int, height: int, max_side: int) -> int:
    """Largest libjpeg scale factor (1, 2, 4, 8) that still leaves the longer side >= max_side."""
    longer, factor = max(width, height), 1
    for f in (2, 4, 8):
        if longer // f >= max_side:
            factor = f
    return factor


def _orient(image: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation tag (1..8) to an image decoded without it."""
    transpose, flip = _ORIENTATION_OPS.get(orientation, (False, None))
    if transpose:
        image = cv2.transpose(image)
    if flip is not None:
        image = cv2.flip(image, flip)
    return image


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 with rounding (x / 257), float in [0,1] -> uint8; uint8 unchanged."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.dtype.kind == "f":
        return (np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise ValueError(f"unsupported sample type {image.dtype}")


def _to_rgb(image: np.ndarray) -> np.ndarray:
    """Any OpenCV decode (gray, gray+alpha, BGR, BGRA; uint8) -> (H, W, 3) uint8 RGB.

    Alpha is composited over mid-grey: rgb * a + 128 * (1 - a).
    """
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    if channels == 2:  # gray + alpha
        gray, alpha = image[:, :, 0], image[:, :, 1]
        image = np.dstack([gray, gray, gray, alpha])
    if channels in (2, 4):
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        colour = image[:, :, :3].astype(np.float32)
        blended = colour * alpha + MID_GREY * (1.0 - alpha)
        return cv2.cvtColor((blended + 0.5).astype(np.uint8), cv2.COLOR_BGR2RGB)
    return cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2RGB)


def _to_rgba(image: np.ndarray) -> np.ndarray:
    """A gray+alpha or BGRA uint8 decode -> (H, W, 4) uint8 straight RGBA, the colour of wholly
    transparent pixels (arbitrary in the file, often black) set to mid-grey, as flattened."""
    if image.shape[2] == 2:
        gray, alpha = image[:, :, 0], image[:, :, 1]
        rgba = np.dstack([gray, gray, gray, alpha])
    else:
        rgba = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    rgba[rgba[:, :, 3] == 0, :3] = MID_GREY
    return rgba


def _decode_with_pillow(data: np.ndarray, path: Path) -> np.ndarray:
    """Formats OpenCV does not read (GIF, ...), as RGB uint8."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data.tobytes())) as picture:
            return np.asarray(picture.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError):
        raise InputError(
            f"{path} is not a readable image (unknown format or corrupt); use PNG or JPEG"
        ) from None


def _has_alpha(image: np.ndarray) -> bool:
    return image.ndim == 3 and image.shape[2] in (2, 4)


def _to_rgb8(image: np.ndarray, path: Path, alpha: bool = False) -> np.ndarray:
    """`_to_rgb(_to_uint8(image))` a band of rows at a time: the float and 32-bit temporaries
    stay a few MB whatever the image's size, so the peak is the decoded image and its result.
    alpha: an image with alpha becomes straight RGBA (`_to_rgba`) instead."""
    height, width = image.shape[:2]
    convert = _to_rgba if alpha and _has_alpha(image) else _to_rgb
    rgb = np.empty((height, width, 4 if convert is _to_rgba else 3), np.uint8)
    rows = max(1, _BAND_PIXELS // width)
    try:
        for top in range(0, height, rows):
            rgb[top : top + rows] = convert(_to_uint8(image[top : top + rows]))
    except ValueError as exc:
        raise InputError(f"image {path}: {exc}; convert it to 8-bit PNG or JPEG") from exc
    return rgb


def _imdecode(data: np.ndarray, path: Path, flags: int) -> np.ndarray | None:
    try:
        image = cv2.imdecode(data, flags)
    except cv2.error as exc:
        reason = str(exc).strip().splitlines()[-1]
        raise InputError(f"cannot decode image {path}: {reason}") from exc
    return None if image is None or image.size == 0 else image


def _decode(data: np.ndarray, path: Path, max_side: int, alpha: bool = False) -> np.ndarray:
    """Decode to uint8 RGB, longer side <= max_side, at reduced scale when a JPEG is much larger
    (alpha: RGBA when the image has alpha; see `load_image`).

    Nothing is decoded before the header gave its size and bytes per pixel, within limits.
    """
    header = _header(data, path)
    if header is None:  # neither OpenCV nor Pillow knows the format
        raise InputError(
            f"{path} is not a readable image (unknown format or corrupt); use PNG or JPEG"
        )
    flags, factor = cv2.IMREAD_UNCHANGED, 1
    if header.format in ("JPEG", "MPO"):
        factor = _reduction(header.width, header.height, max_side)
        if factor > 1:
            flags = _REDUCED_FLAGS[factor]  # OpenCV applies EXIF orientation for these flags
    _check_cost(header, path, factor)
    decoded = _imdecode(data, path, flags) if header.opencv else None
    if decoded is not None:
        rgb = _to_rgb8(decoded, path, alpha)
        del decoded  # before the resize: the two full-size arrays never meet a third
    else:  # Pillow's formats, and what OpenCV could not read after all
        _check_cost(header, path, 1, extra=0 if not header.opencv else header.pixels * 6)
        rgb = _decode_with_pillow(data, path)
    rgb = fit_within(rgb, max_side)
    if flags == cv2.IMREAD_UNCHANGED and header.orientation != 1:
        rgb = _orient(rgb, header.orientation)  # IMREAD_UNCHANGED ignores EXIF
    return rgb


def fit_within(image: np.ndarray, max_side: int) -> np.ndarray:
    """Resize (INTER_AREA) so that max(H, W) <= max_side; unchanged if already small enough."""
    height, width = image.shape[:2]
    longer = max(height, width)
    if longer <= max_side:
        return image
    scale = max_side / longer
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def load_image(path: str | os.PathLike, *, max_side: int = 2048, alpha: bool = False) -> np.ndarray:
    """Load a still image as `(H, W, 3) uint8 RGB`, C-contiguous, longer side <= max_side.

    Alpha is composited over mid-grey (alpha=True: an image with alpha is `(H, W, 4)` straight
    RGBA instead, its wholly transparent pixels mid-grey), grayscale is replicated to 3
    channels, 16-bit samples are rounded to 8 bits, EXIF orientation is applied. Raises
    InputError (one line, names the file) for a missing, empty, unreadable or undecodable file.
    """
    if max_side <= 0:
        raise ValueError(f"max_side must be positive, got {max_side}")
    path = Path(path)
    image = _decode(_read_bytes(path), path, max_side, alpha)
    return np.ascontiguousarray(fit_within(image, max_side))


def save_image(path: str | os.PathLike, rgb: np.ndarray) -> Path:
    """Write `rgb` ((H, W, 3) or (H, W) uint8, or (H, W, 4) RGBA for a format with alpha such
    as .png) to `path` atomically; returns the path.

    The format follows the suffix (.png, .jpg, .webp, ...). Encoded in memory, written to a
    temporary file in the same directory and renamed over `path`, so readers never see a partial
    file. Parent directories are created. Raises ReenactError naming the path on failure.
    """
    path = Path(path)
    if (
        rgb.dtype != np.uint8
        or rgb.ndim not in (2, 3)
        or (rgb.ndim == 3 and rgb.shape[2] not in (3, 4))
    ):
        raise ValueError(
            f"save_image expects (H, W, 3|4) or (H, W) uint8, got {rgb.shape} {rgb.dtype}"
        )
    bgr = (
        rgb
        if rgb.ndim == 2
        else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR if rgb.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    )
    try:
        ok, encoded = cv2.imencode(path.suffix or ".png", bgr)
    except cv2.error:
        ok, encoded = False, None
    if not ok:
        raise ReenactError(
            f"cannot save image {path}: unsupported extension '{path.suffix}'; use .png or .jpg"
        )
    tmp_path = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp_path, "xb") as handle:  # 0o666 & ~umask, like any new file
            handle.write(encoded.tobytes())
        os.replace(tmp_path, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink(missing_ok=True)
        raise ReenactError(
            f"cannot save image {path}: {exc.strerror or exc}; choose another path"
        ) from exc
    return path


def image_size(data: bytes, name: str = "image") -> tuple[int, int] | None:
    """(width, height) of an encoded image from its header alone (no pixels decoded), or None.
    ImageTooLarge naming `name` for a header Pillow already knows is a decompression bomb."""
    try:
        header = probe(data)
    except Unsized:
        return None  # decode_image says why
    except TooLarge as exc:
        raise _too_large(Path(name), str(exc)) from None
    return None if header is None else (header.width, header.height)


def decode_image(
    data: bytes, *, name: str, max_side: int = 2048, alpha: bool = False
) -> np.ndarray:
    """`load_image` for bytes already in memory (an upload); errors name `name`."""
    if not data:
        raise InputError(f"image {name} is empty (0 bytes)")
    image = _decode(np.frombuffer(data, dtype=np.uint8), Path(name), max_side, alpha)
    return np.ascontiguousarray(fit_within(image, max_side))
