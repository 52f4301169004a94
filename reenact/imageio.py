"""Still images in and out: any OpenCV-readable file -> `(H, W, 3) uint8 RGB`, and atomic saving.

`load_image` copes with what people actually hand in as a target portrait: PNGs with alpha
(composited over mid-grey), grayscale scans, 16-bit PNG/TIFF (scaled to 8 bits with rounding),
EXIF-rotated phone photos, and huge images (an 8K JPEG is decoded at 1/2, 1/4 or 1/8 scale by
libjpeg, everything else is resized so its longer side is at most `max_side`).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import warnings
from pathlib import Path

import cv2
import numpy as np

from reenact.errors import InputError, ReenactError

MID_GREY = 128  # background for transparent pixels
# Refuse any image above 178 Mpx (about 13k x 13k) from its header, before decoding: Pillow's own
# decompression-bomb limit (2 x Image.MAX_IMAGE_PIXELS), so both agree on what is too large.
MAX_PIXELS = 2 * 89_478_485
_REDUCED_FLAGS = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                  8: cv2.IMREAD_REDUCED_COLOR_8}
# EXIF orientation -> (transpose first?, flip code for cv2.flip or None)
_ORIENTATION_OPS = {2: (False, 1), 3: (False, -1), 4: (False, 0), 5: (True, None),
                    6: (True, 1), 7: (True, -1), 8: (True, 0)}


def _read_bytes(path: Path) -> np.ndarray:
    """The raw file as a 1-D uint8 array; one-line InputError when it cannot be used."""
    if not path.exists():
        raise InputError(f"image not found: {path}; check the path")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not an image file")
    try:
        data = np.fromfile(str(path), dtype=np.uint8)  # works with non-ASCII Windows paths
    except OSError as exc:
        reason = exc.strerror or exc
        raise InputError(f"cannot read image {path}: {reason}; check permissions") from exc
    if data.size == 0:
        raise InputError(f"image {path} is empty (0 bytes); re-export or copy it again")
    return data


def _probe_header(data: np.ndarray, path: Path) -> tuple[int, int, str, int] | None:
    """(width, height, format, exif orientation) from the header alone, or None if unknown.

    Uses Pillow (a dependency of scikit-image) lazily: no pixels are decoded here. Pillow's own
    decompression-bomb refusal (above 2 x its MAX_IMAGE_PIXELS, about 179 Mpx) is an InputError
    naming `path`: such a header is known to be too large, not unknown.
    """
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we check the size
            with Image.open(io.BytesIO(data.tobytes())) as im:
                orientation = int(im.getexif().get(0x0112, 1) or 1)
                return im.size[0], im.size[1], str(im.format or ""), orientation
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)) // 1_000_000} Mpx" if found else "too many pixels"
        raise _too_large(path, size) from None
    except (OSError, ValueError, SyntaxError):
        return None


def _too_large(path: Path, size: str) -> InputError:
    return InputError(
        f"image {path} is too large to decode ({size}); resize it below "
        f"{MAX_PIXELS // 1_000_000} Mpx (e.g. to 4096 px on its longer side)"
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


def _decode_with_pillow(data: np.ndarray, path: Path) -> np.ndarray:
    """Formats OpenCV does not read (GIF, ...), as BGR uint8 like cv2.imdecode returns."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data.tobytes())) as picture:
            rgb = np.asarray(picture.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError):
        raise InputError(
            f"{path} is not a readable image (unknown format or corrupt); use PNG or JPEG"
        ) from None
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def _decode(data: np.ndarray, path: Path, max_side: int) -> np.ndarray:
    """Decode to uint8 RGB, at reduced scale when a JPEG is much larger than max_side."""
    header = _probe_header(data, path)
    flags, orientation = cv2.IMREAD_UNCHANGED, 1
    if header is not None:
        width, height, fmt, orientation = header
        if width * height > MAX_PIXELS:  # refused from the header, before any pixel is decoded
            raise _too_large(path, f"{width}x{height}")
        factor = _reduction(width, height, max_side)
        if fmt in ("JPEG", "MPO") and factor > 1:
            flags = _REDUCED_FLAGS[factor]  # OpenCV applies EXIF orientation for these flags
    try:
        image = cv2.imdecode(data, flags)
    except cv2.error as exc:
        reason = str(exc).strip().splitlines()[-1]
        raise InputError(f"cannot decode image {path}: {reason}") from exc
    if image is None or image.size == 0:
        image = _decode_with_pillow(data, path)  # GIF, and GIF data under a .png name
    if flags == cv2.IMREAD_UNCHANGED and orientation != 1:
        image = _orient(image, orientation)  # IMREAD_UNCHANGED ignores EXIF
    try:
        return _to_rgb(_to_uint8(image))
    except ValueError as exc:
        raise InputError(f"image {path}: {exc}; convert it to 8-bit PNG or JPEG") from exc


def fit_within(image: np.ndarray, max_side: int) -> np.ndarray:
    """Resize (INTER_AREA) so that max(H, W) <= max_side; unchanged if already small enough."""
    height, width = image.shape[:2]
    longer = max(height, width)
    if longer <= max_side:
        return image
    scale = max_side / longer
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def load_image(path: str | os.PathLike, *, max_side: int = 2048) -> np.ndarray:
    """Load a still image as `(H, W, 3) uint8 RGB`, C-contiguous, longer side <= max_side.

    Alpha is composited over mid-grey, grayscale is replicated to 3 channels, 16-bit samples are
    rounded to 8 bits, EXIF orientation is applied. Raises InputError (one line, names the file)
    for a missing, empty, unreadable or undecodable file.
    """
    if max_side <= 0:
        raise ValueError(f"max_side must be positive, got {max_side}")
    path = Path(path)
    image = _decode(_read_bytes(path), path, max_side)
    return np.ascontiguousarray(fit_within(image, max_side))


def save_image(path: str | os.PathLike, rgb: np.ndarray) -> Path:
    """Write `rgb` ((H, W, 3) or (H, W) uint8) to `path` atomically; returns the path.

    The format follows the suffix (.png, .jpg, .webp, ...). Encoded in memory, written to a
    temporary file in the same directory and renamed over `path`, so readers never see a partial
    file. Parent directories are created. Raises ReenactError naming the path on failure.
    """
    path = Path(path)
    if rgb.dtype != np.uint8 or rgb.ndim not in (2, 3) or (rgb.ndim == 3 and rgb.shape[2] != 3):
        raise ValueError(f"save_image expects (H, W, 3) or (H, W) uint8, got {rgb.shape} {rgb.dtype}")
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
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
        raise ReenactError(f"cannot save image {path}: {exc.strerror or exc}; choose another path") from exc
    return path


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an encoded image from its header alone (no pixels decoded), or None."""
    header = _probe_header(np.frombuffer(data, dtype=np.uint8))
    return None if header is None else header[:2]


def decode_image(data: bytes, *, name: str, max_side: int = 2048) -> np.ndarray:
    """`load_image` for bytes already in memory (an upload); errors name `name`."""
    if not data:
        raise InputError(f"image {name} is empty (0 bytes)")
    image = _decode(np.frombuffer(data, dtype=np.uint8), Path(name), max_side)
    return np.ascontiguousarray(fit_within(image, max_side))
