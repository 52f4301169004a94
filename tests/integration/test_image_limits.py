"""Images too costly to decode, or whose size cannot be read first, are refused from the header.

Issue 85, case 2 (a Radiance HDR bypassed the image-bomb check: Pillow cannot size it, OpenCV
decoded it as float32) and the decode side of case 5 (the caps counted megapixels, not bytes per
pixel: a 319 KB 16-bit RGBA PNG of 39 Mpx decoded to about 2.1 GB). Real files written here,
through `reenact run` in its own process (peak RSS measured), `decode_image`, and a real panel.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.cli.main import main
from reenact.errors import InputError
from reenact.image_header import MAX_PIXELS
from reenact.imageio import ImageTooLarge, decode_image, load_image
from tests.helpers import decode_rgb, run_cli
from tests.panel_session import LiveSession

PEAK_MIB = 300  # issue 85's goal for a refused input


def hdr_bytes(width: int, height: int, rows: int) -> bytes:
    """A Radiance RGBE file saying width x height, with `rows` run-length scanlines of 0.5 grey:
    a whole image compresses to about 1 KB a row of 16000 pixels."""
    runs = b"\xff\x80" * (width // 127) + bytes([128 + width % 127, 0x80]) * (width % 127 > 0)
    scanline = b"\x02\x02" + struct.pack(">H", width) + runs * 4
    return (
        b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n"
        + f"-Y {height} +X {width}\n".encode()
        + scanline * rows
    )


def zlib_of_rows(row: bytes, count: int, block_rows: int = 64) -> bytes:
    """zlib data of `row` repeated `count` times, compressing one block of rows only: after a
    full flush deflate starts afresh, so every block compresses to the same bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: header and check added here
    block = packer.compress(row * block_rows) + packer.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(count, block_rows)
    tail = packer.compress(row * rest) + packer.flush()
    check = 1
    for _ in range(count):
        check = zlib.adler32(row, check)
    return b"\x78\xda" + block * whole + tail + struct.pack(">I", check)


def png_bytes(side: int, depth: int, colour: int, channels: int) -> bytes:
    """A side x side PNG of one colour, written without ever holding the image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    data = zlib_of_rows(b"\x00" + bytes(-(-side * channels * depth // 8)), side)
    header = struct.pack(">IIBBBBB", side, side, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def rgba16_png() -> bytes:
    """The issue's case 5 file: 6245 x 6245 (39 Mpx) 16-bit RGBA, about 0.3 MB on disk, 312 MB
    as decoded by OpenCV before any conversion."""
    return png_bytes(6245, 16, 6, 4)


@pytest.fixture(scope="module")
def clip(clips_dir) -> Path:
    return clips_dir / "lp_d1.mp4"


def refused_by_run(tmp_path: Path, clip: Path, target: Path, says: str) -> str:
    """`reenact run` with `target`: one error line naming it, nothing written, a small peak."""
    out_dir = tmp_path / "out"
    code, err, peak_mib = run_cli(
        "run",
        "--source",
        f"video:{clip}",
        "--target",
        str(target),
        "--sink",
        f"file:{out_dir / 'out.mp4'}",
    )
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0 and len(lines) == 1 and lines[0].startswith("reenact: error:"), err
    assert str(target) in lines[0] and says in lines[0], lines[0]
    assert "Traceback" not in err
    assert peak_mib < PEAK_MIB, f"peak RSS {peak_mib:.0f} MiB: the image was decoded"
    assert not out_dir.exists() or not any(out_dir.iterdir())
    return lines[0]


@pytest.mark.parametrize("name", ["huge.hdr", "huge.png"])
def test_hdr_bomb_is_refused_from_its_header(tmp_path, clip, name):
    """16000 x 16000 float RGB is 3 GB decoded; a .png name does not hide it (OpenCV goes by
    the bytes)."""
    target = tmp_path / name
    target.write_bytes(hdr_bytes(16000, 16000, rows=64))
    line = refused_by_run(tmp_path, clip, target, says="too large")
    assert "16000x16000" in line  # over the pixel cap (178 Mpx) before any byte count


def test_deep_png_is_refused_by_its_bytes_not_its_pixels(tmp_path, clip):
    """39 Mpx is under the pixel cap; at 8 bytes a pixel it is not under the byte budget."""
    target = tmp_path / "deep.png"
    target.write_bytes(rgba16_png())
    assert target.stat().st_size < 400_000
    line = refused_by_run(tmp_path, clip, target, says="too large")
    assert "6245x6245" in line and "8 bytes a pixel" in line


@pytest.mark.parametrize("case", ["hdr", "hdr-as-png", "rgba16"])
def test_decode_image_refuses_before_decoding(case):
    data = rgba16_png() if case == "rgba16" else hdr_bytes(16000, 16000, rows=64)
    name = "upload.hdr" if case == "hdr" else "upload.png"
    with pytest.raises(ImageTooLarge, match="too large") as caught:
        decode_image(data, name=name)
    assert caught.value.status == 413  # what the panel answers
    assert name in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [
        b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n" + b"\x02\x02\x3e\x80" * 500,  # no size line
        b"#?RGBE\nFORMAT=32-bit_rle_rgbe\n" + b"\x80" * 2000,  # header never ends
        b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0",  # cut inside IHDR
    ],
    ids=["hdr-no-size", "hdr-no-end", "png-cut"],
)
def test_size_unknown_before_decoding_is_refused(tmp_path, data):
    path = tmp_path / "odd.png"
    path.write_bytes(data)
    with pytest.raises(InputError, match="cannot tell its size before decoding") as caught:
        load_image(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(InputError, match="cannot tell its size before decoding"):
        decode_image(data, name="odd.png")


def test_ordinary_hdr_target_is_used(capsys, tmp_path, clip, portraits_dir):
    """A normal Radiance HDR portrait (read as float, mapped to 8 bits) still drives a run."""
    portrait = load_image(portraits_dir / "lp_drv_d19.jpg")
    target = tmp_path / "portrait.hdr"
    bgr = cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR).astype(np.float32) / 255.0
    assert cv2.imwrite(str(target), bgr)
    loaded = decode_image(target.read_bytes(), name=target.name)
    assert loaded.shape == portrait.shape
    assert np.abs(loaded.astype(np.int16) - portrait).mean() < 3.0  # RGBE keeps 8-bit mantissas
    out = tmp_path / "out.mp4"
    code = main(
        [
            "run",
            "--source",
            f"video:{clip}",
            "--target",
            str(target),
            "--sink",
            f"file:{out}",
            "--max-frames",
            "4",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert len(decode_rgb(out)) == 4


def test_opencv_own_pixel_cap_is_set_before_it_loads(tmp_path):
    """The second fence: a process that went through the CLI has OpenCV refuse, by its own
    header check, an image over MAX_PIXELS that reaches cv2.imdecode directly."""
    side = int(MAX_PIXELS**0.5) + 16
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bytes(side, 1, 0, 1))  # 1-bit gray: a few KB
    script = (
        "import sys, numpy as np\n"
        "from reenact.cli.main import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "import cv2\n"
        "data = np.fromfile(sys.argv[1], np.uint8)\n"
        "try:\n    cv2.imdecode(data, cv2.IMREAD_UNCHANGED)\n"
        "except cv2.error as exc:\n    print('refused', str(exc).splitlines()[-1])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(bomb)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "refused" in done.stdout and "CV_IO_MAX_IMAGE_PIXELS" in done.stdout, done.stdout


@pytest.fixture(scope="module")
def panel(tmp_path_factory, clips_dir, portraits_dir):
    live = LiveSession(
        clips_dir / "lp_d0.mp4",
        tmp_path_factory.mktemp("panel"),
        targets=[portraits_dir / "lp_s0.jpg"],
    )
    try:
        yield live
    finally:
        live.close()


@pytest.mark.parametrize("case", ["hdr", "rgba16"])
def test_panel_upload_too_costly_to_decode_is_413(panel, case):
    """An 8000 x 8000 HDR (4 MB, 64 Mpx of float) and the 39 Mpx 16-bit RGBA PNG: 413 before
    decoding, never "no face found" after it; nothing written, and the panel lives on."""
    body = hdr_bytes(8000, 8000, rows=8000) if case == "hdr" else rgba16_png()
    before = sorted(p.name for p in panel.targets_dir.iterdir())
    code, answer, _ = panel.call("POST", f"/targets?name={case}.png", body)
    assert code == 413 and "too large" in answer["error"], answer
    assert answer["error"].startswith(f"{case}.png")
    assert sorted(p.name for p in panel.targets_dir.iterdir()) == before
    assert panel.call("GET", "/status")[0] == 200
