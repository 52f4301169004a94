"""What decoding a still image will cost, read from its header alone: nothing is decoded here.

`probe` names the decoder that would read the bytes (OpenCV picks it by signature, whatever the
file is called), its size, and the bytes per pixel of the array that decoder fills: channels x
bytes per sample, float HDR/EXR/PFM at 4 bytes a channel, 16-bit PNG/TIFF/PNM at 2. Formats whose
header Pillow does not parse (Radiance HDR, OpenEXR, the PNM family) and PNG's bit depth are read
here by hand. This module imports neither OpenCV nor NumPy, so the CLI can fence OpenCV's own
decoders (`fence_opencv`) before anything loads it.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import struct
import warnings

# Above 178 Mpx (about 13k x 13k) an image is refused whatever its depth: Pillow's own
# decompression-bomb limit (2 x Image.MAX_IMAGE_PIXELS), so both agree on what is too large.
MAX_PIXELS = 2 * 89_478_485
# A decode's peak (`ImageHeader.decode_bytes`): 384 MiB keeps one accepted image well inside the
# 1.5 GB the live process may hold (an 8-bit RGB PNG of 67 Mpx, 16-bit RGBA 25 Mpx, HDR 16 Mpx).
MAX_DECODE_BYTES = 384 * 2**20

_PNG_CHANNELS = {0: 1, 2: 3, 3: 4, 4: 4, 6: 4}  # colour type -> channels OpenCV returns, at most
# Pillow mode -> bytes per pixel OpenCV (or Pillow) fills for it, at most; unknown modes count 16.
_MODE_BYTES = {
    "1": 3,
    "L": 1,
    "P": 4,
    "LA": 4,
    "La": 4,
    "PA": 4,
    "RGB": 3,
    "YCbCr": 3,
    "LAB": 3,
    "HSV": 3,
    "RGBA": 4,
    "RGBa": 4,
    "RGBX": 4,
    "CMYK": 4,
    "I;16": 2,
    "I;16L": 2,
    "I;16B": 2,
    "I;16N": 2,
    "I": 4,
    "F": 4,
}
_PILLOW_FORMATS = {
    "BMP": {"BMP", "DIB"},
    "JPEG": {"JPEG", "MPO"},
    "WEBP": {"WEBP"},
    "SUN": {"SUN"},
    "TIFF": {"TIFF"},
    "JPEG2000": {"JPEG2000"},
}


class TooLarge(ValueError):
    """Pillow refused the header as a decompression bomb; the message is the size it read."""


class Unsized(ValueError):
    """A format OpenCV would decode, whose size cannot be read from its header."""


@dataclasses.dataclass(frozen=True)
class ImageHeader:
    width: int
    height: int
    bytes_per_pixel: int  # of the array the decoder fills
    format: str  # "PNG", "JPEG", "HDR", ... or Pillow's name for what only Pillow reads
    orientation: int = 1  # EXIF orientation; 1 = as stored
    scratch_bytes: int = 0  # what the decoder holds beside its output (a TIFF strip, ...)
    opencv: bool = True  # decoded by cv2.imdecode, else by Pillow

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def decode_bytes(self, factor: int = 1) -> int:
        """Peak bytes of decoding at 1/factor scale, then converting to 8-bit RGB (3 per pixel).

        Beside its output array the decoder holds a working copy as large (OpenCV 4.11's PNG,
        JPEG and TIFF readers peak at twice the array) or its own scratch; the 8-bit RGB copy
        is made after that is freed, so the larger of the two counts.
        """
        pixels = -(-self.width // factor) * -(-self.height // factor)
        output = pixels * self.bytes_per_pixel
        working = output if self.opencv else 0
        return output + max(working, self.scratch_bytes, pixels * 3)


def fence_opencv() -> None:
    """Cap OpenCV's own decoders at MAX_PIXELS too; OpenCV reads this once, as it loads."""
    os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))


def opencv_format(data: bytes) -> str | None:
    """The decoder cv2.imdecode would pick for `data` (by signature, as OpenCV does), or None."""
    head = bytes(data[:16])
    signatures = [
        ("BMP", b"BM"),
        ("HDR", b"#?RGBE"),
        ("HDR", b"#?RADIANCE"),
        ("JPEG", b"\xff\xd8\xff"),
        ("SUN", b"\x59\xa6\x6a\x95"),
        ("TIFF", b"II*\0"),
        ("TIFF", b"MM\0*"),
        ("TIFF", b"II+\0"),
        ("TIFF", b"MM\0+"),
        ("PNG", b"\x89PNG\r\n\x1a\n"),
        ("JPEG2000", b"\0\0\0\x0cjP  \r\n\x87\n"),
        ("JPEG2000", b"\xff\x4f\xff\x51"),
        ("EXR", b"\x76\x2f\x31\x01"),
    ]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if len(head) >= 3 and head[:1] == b"P" and head[2:3].isspace() and head[1:2] in b"1234567Ff":
        return "PNM"
    return next((name for name, magic in signatures if head.startswith(magic)), None)


def probe(data: bytes) -> ImageHeader | None:
    """The header of `data`, or None when neither OpenCV nor Pillow knows the format.

    Raises Unsized for a format OpenCV would decode whose size cannot be read, TooLarge when
    Pillow refuses the header as a decompression bomb.
    """
    fmt = opencv_format(data)
    own = {"PNG": _png, "HDR": _hdr, "EXR": _exr, "PNM": _pnm}.get(fmt or "")
    if own is not None:
        header = own(bytes(data[:65536]))
        if header is None:
            raise Unsized(f"its {fmt} header is damaged")
        if header.pixels > MAX_PIXELS:
            return header  # known too large: Pillow need not look
        picture = _pillow(data, quiet=True)
        if picture is None:
            return header
        with picture:
            return dataclasses.replace(header, orientation=_orientation(picture))
    picture = _pillow(data, quiet=False)
    if picture is None and fmt == "TIFF":
        return _tiff(bytes(data))
    if picture is None:
        if fmt is not None:
            raise Unsized(f"its {fmt} header is damaged")
        return None
    with picture:
        if fmt is not None and picture.format not in _PILLOW_FORMATS[fmt]:
            raise Unsized(f"it reads as {fmt} to OpenCV but as {picture.format} to Pillow")
        return _from_pillow(picture, fmt)


def _pillow(data: bytes, *, quiet: bool):
    """Pillow's lazily opened image (header only), or None if Pillow cannot read it."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we check the size
            return Image.open(io.BytesIO(bytes(data)))
    except Image.DecompressionBombError as exc:
        if quiet:
            return None
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise TooLarge(f"{int(found.group(1)) // 1_000_000} Mpx" if found else "too many pixels")
    except (OSError, ValueError, SyntaxError, struct.error, EOFError):
        return None


def _orientation(picture) -> int:
    from PIL import Image

    try:
        if picture.format != "PNG":
            return int(picture.getexif().get(0x0112, 1) or 1)
        # Pillow's PNG getexif() decodes the whole image to look past IDAT: only the header's
        exif = Image.Exif()
        exif.load(picture.info.get("exif", b""))
        return int(exif.get(0x0112, 1) or 1)
    except (OSError, ValueError, SyntaxError, struct.error, TypeError):
        return 1


def _from_pillow(picture, fmt: str | None) -> ImageHeader:
    width, height = picture.size
    mode_bytes = _MODE_BYTES.get(picture.mode, 16)
    bpp, scratch = mode_bytes, 0
    if fmt is None:  # Pillow decodes, converts to RGB and hands the pixels over: two RGB copies
        scratch = width * height * 6
    elif fmt == "TIFF":
        bpp, scratch = _tiff_cost(picture.tag_v2, width, height)
    elif fmt == "JPEG2000":  # OpenJPEG holds every sample as an int32 beside the output
        scratch = width * height * len(picture.getbands()) * 4
    elif fmt == "JPEG" and "progressive" in picture.info:  # libjpeg keeps every coefficient
        scratch = _jpeg_coefficients(picture)
    return ImageHeader(
        width,
        height,
        bpp,
        str(picture.format or fmt),
        _orientation(picture),
        scratch,
        opencv=fmt is not None,
    )


def _tiff_cost(tags, width: int, height: int) -> tuple[int, int]:
    """(bytes per pixel, strip or tile buffer bytes) of OpenCV's TIFF decoder for these tags."""
    bits = tags.get(258, 1)
    bits = max(bits) if isinstance(bits, tuple) else int(bits)
    samples, photometric = int(tags.get(277, 1)), int(tags.get(262, 1))
    depth = -(-bits // 8)
    if photometric in (32844, 32845):  # LogL / LogLuv: OpenCV reads them as float RGB
        samples, depth = 3, 4
    elif photometric not in (0, 1, 2) or bits not in (8, 16, 32, 64):
        samples, depth = max(samples, 4), max(depth, 1)  # read through libtiff's RGBA path
    if 322 in tags and 323 in tags:
        block = int(tags[322]) * int(tags[323])
    else:
        block = width * min(int(tags.get(278, height)), height)
    return samples * depth, block * samples * depth


def _tiff(data: bytes) -> ImageHeader:
    """A classic TIFF's first directory read by hand, for what Pillow does not open."""
    order = "<" if data[:2] == b"II" else ">"
    try:
        (at,) = struct.unpack_from(order + "I", data, 4) if data[2:4] in (b"*\0", b"\0*") else (0,)
        (count,) = struct.unpack_from(order + "H", data, at)
        tags = {}
        for entry in range(at + 2, at + 2 + 12 * min(count, 512), 12):
            tag, kind, _n, value = struct.unpack_from(order + "HHII", data, entry)
            if kind == 3:  # a SHORT sits in the value field's first two bytes
                value = value >> 16 if order == ">" else value & 0xFFFF
            tags[tag] = value
        if 258 in tags and tags.get(277, 1) > 2:  # BitsPerSample of 3 or more samples: elsewhere
            tags[258] = struct.unpack_from(order + "H", data, tags[258])[0]
    except struct.error:
        raise Unsized("its TIFF header is damaged") from None
    width, height = tags.get(256, 0), tags.get(257, 0)
    if not at or width <= 0 or height <= 0:
        raise Unsized("its TIFF header is damaged")
    bpp, scratch = _tiff_cost(tags, width, height)
    return ImageHeader(width, height, bpp, "TIFF", int(tags.get(274, 1)), scratch)


def _jpeg_coefficients(picture) -> int:
    """Bytes of a progressive JPEG's coefficient buffer: 2 per coefficient, all components."""
    layers = getattr(picture, "layer", None) or [("", 1, 1, 0)] * len(picture.getbands())
    h_max = max(layer[1] for layer in layers)
    v_max = max(layer[2] for layer in layers)
    width, height = picture.size
    blocks = sum(
        -(-(width * h // h_max) // 8) * -(-(height * v // v_max) // 8) for _id, h, v, _q in layers
    )
    return blocks * 64 * 2


def _png(head: bytes) -> ImageHeader | None:
    """IHDR: size, bit depth and colour type (Pillow reports 16-bit RGBA as 8-bit RGBA)."""
    if len(head) < 29 or head[12:16] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    channels = _PNG_CHANNELS.get(colour)
    if channels is None or depth not in (1, 2, 4, 8, 16) or width == 0 or height == 0:
        return None
    if colour == 0 and b"tRNS" in head:
        channels = 4  # transparency turns gray into gray + alpha, which OpenCV returns as BGRA
    return ImageHeader(width, height, channels * (2 if depth == 16 else 1), "PNG")


def _hdr(head: bytes) -> ImageHeader | None:
    """Radiance RGBE: header lines, a blank line, then '-Y <height> +X <width>' (as OpenCV)."""
    end = head.find(b"\n\n")
    if end < 0:
        return None
    found = re.match(rb"-Y\s*\+?(\d+)\s*\+X\s*\+?(\d+)", head[end + 2 :])
    if found is None or int(found.group(1)) == 0 or int(found.group(2)) == 0:
        return None
    return ImageHeader(int(found.group(2)), int(found.group(1)), 3 * 4, "HDR")


def _exr(head: bytes) -> ImageHeader | None:
    """OpenEXR single-part header: dataWindow (box2i) and the channel list, read as float32."""
    if len(head) < 8 or head[5] & 0x10:  # a multi-part file: more than one header
        return None
    attributes, at = {}, 8
    while at < len(head) and head[at] != 0:
        name_end = head.find(b"\0", at)
        type_end = head.find(b"\0", name_end + 1)
        if name_end < 0 or type_end < 0 or type_end + 5 > len(head):
            return None
        (size,) = struct.unpack("<i", head[type_end + 1 : type_end + 5])
        attributes[head[at:name_end]] = head[type_end + 5 : type_end + 5 + size]
        at = type_end + 5 + size
    window, channels = attributes.get(b"dataWindow", b""), attributes.get(b"channels", b"")
    if len(window) != 16 or not channels:
        return None
    x_min, y_min, x_max, y_max = struct.unpack("<iiii", window)
    count, at = 0, 0
    while at < len(channels) and channels[at] != 0:  # name, NUL, 16 bytes; a NUL ends it
        name_end = channels.find(b"\0", at)
        if name_end < 0:
            return None
        at, count = name_end + 1 + 16, count + 1
    width, height = x_max - x_min + 1, y_max - y_min + 1
    if width <= 0 or height <= 0 or count <= 0:
        return None
    return ImageHeader(width, height, max(count, 3) * 4, "EXR")


def _pnm(head: bytes) -> ImageHeader | None:
    """PBM/PGM/PPM (P1-P6), PAM (P7) and PFM (PF, Pf): size, channels, sample size."""
    kind = head[1:2]
    if kind == b"7":
        fields = dict(re.findall(rb"^(WIDTH|HEIGHT|DEPTH|MAXVAL)\s+(\d+)", head, re.M))
        if not {b"WIDTH", b"HEIGHT", b"DEPTH"} <= fields.keys():
            return None
        width, height = int(fields[b"WIDTH"]), int(fields[b"HEIGHT"])
        channels, top = int(fields[b"DEPTH"]), int(fields.get(b"MAXVAL", 255))
    else:
        text = re.sub(rb"#[^\n]*", b" ", head[2:])  # comments may sit between the numbers
        numbers = re.findall(rb"\S+", text)[:3]
        if len(numbers) < 2 or not all(n.isdigit() for n in numbers[:2]):
            return None
        width, height = int(numbers[0]), int(numbers[1])
        has_top = kind in b"2356" and len(numbers) == 3 and numbers[2].isdigit()
        top = int(numbers[2]) if has_top else 255
        channels = 3 if kind in (b"3", b"6", b"F") else 1
    depth = 4 if kind in b"Ff" else 2 if top > 255 else 1
    if width <= 0 or height <= 0 or channels <= 0:
        return None
    return ImageHeader(width, height, channels * depth, "PNM")
