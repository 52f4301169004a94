"""Bad input, case by case, as a user meets it through `reenact run`.

Each failing case gives exactly one `reenact: error:` line naming the file and what was wrong, a
non-zero exit, and leaves no output (or partial output) behind. Each handled case runs to the end.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from reenact.cli.main import main
from reenact.imageio import load_image, save_image
from tests.helpers import decode_rgb, run_cli, write_clip

PORTRAIT = "lp_drv_d19.jpg"


def run(capsys, out_dir: Path, *args: str) -> tuple[int, str]:
    code = main(["run", "--sink", f"file:{out_dir / 'out.mp4'}", "--max-frames", "4", *args])
    return code, capsys.readouterr().err


def expect_error(capsys, out_dir: Path, names: Path | str, *args: str, says: str = "") -> str:
    code, err = run(capsys, out_dir, *args)
    lines = [l for l in err.splitlines() if l.startswith("reenact: error:")]
    assert code != 0 and len(lines) == 1, err
    assert str(names) in lines[0], lines[0]
    assert says.lower() in lines[0].lower(), lines[0]
    assert not any(out_dir.iterdir()), list(out_dir.iterdir())  # nothing half-written
    return lines[0]


def expect_ok(capsys, out_dir: Path, *args: str) -> None:
    code, err = run(capsys, out_dir, *args)
    assert code == 0, err
    assert len(decode_rgb(out_dir / "out.mp4")) == 4


@pytest.fixture
def out_dir(tmp_path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


@pytest.fixture(scope="module")
def clip(clips_dir) -> Path:
    return clips_dir / "lp_d1.mp4"


@pytest.fixture(scope="module")
def portrait(portraits_dir) -> np.ndarray:
    return load_image(portraits_dir / PORTRAIT)


def source(clip: Path) -> tuple[str, str]:
    return ("--source", f"video:{clip}")


# --- target images ------------------------------------------------------------------------


def test_missing_target(capsys, out_dir, clip, tmp_path):
    missing = tmp_path / "nobody.jpg"
    expect_error(
        capsys, out_dir, missing, *source(clip), "--target", str(missing), says="not found"
    )


def test_target_that_is_not_an_image(capsys, out_dir, clip, tmp_path):
    fake = tmp_path / "notes.jpg"
    fake.write_text("these are not pixels")
    expect_error(capsys, out_dir, fake, *source(clip), "--target", str(fake))


def test_landscape_with_no_face(capsys, out_dir, clip, tmp_path):
    from skimage import data

    landscape = save_image(tmp_path / "landscape.png", data.coffee())
    expect_error(
        capsys, out_dir, landscape, *source(clip), "--target", str(landscape), says="no face"
    )


def test_several_faces_largest_or_error(capsys, out_dir, clip, tmp_path, portrait):
    small = cv2.resize(portrait, (portrait.shape[1] // 2, portrait.shape[0] // 2))
    canvas = np.full((portrait.shape[0], portrait.shape[1] + small.shape[1], 3), 90, np.uint8)
    canvas[:, : portrait.shape[1]] = portrait
    canvas[: small.shape[0], portrait.shape[1] :] = small
    group = save_image(tmp_path / "group.png", canvas)
    expect_ok(capsys, out_dir, *source(clip), "--target", str(group))
    (out_dir / "out.mp4").unlink()
    for extra in out_dir.iterdir():
        extra.unlink()
    expect_error(
        capsys,
        out_dir,
        group,
        *source(clip),
        "--target",
        str(group),
        "--set",
        "tracker.multiple_faces=error",
        says="faces",
    )


@pytest.mark.parametrize("kind", ["alpha", "grayscale", "16bit", "8k"])
def test_odd_images_are_handled(capsys, out_dir, clip, tmp_path, portrait, kind):
    path = tmp_path / f"{kind}.png"
    bgr = cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR)
    if kind == "alpha":
        alpha = np.full(bgr.shape[:2], 255, np.uint8)
        alpha[:40] = 0
        cv2.imwrite(str(path), np.dstack([bgr, alpha]))
    elif kind == "grayscale":
        cv2.imwrite(str(path), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    elif kind == "16bit":
        cv2.imwrite(str(path), bgr.astype(np.uint16) * 257)
    else:
        path = tmp_path / "8k.jpg"
        cv2.imwrite(str(path), cv2.resize(bgr, (7680, 4320)))
    expect_ok(capsys, out_dir, *source(clip), "--target", str(path))


def test_tiny_face_error_or_upscale(capsys, out_dir, clip, tmp_path, portrait):
    h, w = portrait.shape[:2]
    scale = 110 / w  # the face is about 40 px wide
    tiny = cv2.resize(portrait, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 120, np.uint8)
    canvas[100 : 100 + tiny.shape[0], 200 : 200 + tiny.shape[1]] = tiny
    path = save_image(tmp_path / "tiny.png", canvas)
    expect_error(capsys, out_dir, path, *source(clip), "--target", str(path), says="px")
    expect_ok(
        capsys, out_dir, *source(clip), "--target", str(path), "--set", "tracker.small_face=upscale"
    )


# --- source videos ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def truncated(clips_dir, tmp_path_factory) -> Path:
    frames = decode_rgb(clips_dir / "lp_d0.mp4")[:40]
    path = write_clip(
        tmp_path_factory.mktemp("trunc") / "cut.mp4",
        frames,
        fps=25,
        container_options={"movflags": "frag_keyframe+empty_moov"},
        options={"g": "5"},
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_truncated_video_error_or_up_to_the_break(capsys, out_dir, truncated):
    expect_error(
        capsys,
        out_dir,
        truncated,
        "--source",
        f"video:{truncated}",
        "--max-frames",
        "0",
        says="truncated",
    )
    code, err = run(
        capsys,
        out_dir,
        "--source",
        f"video:{truncated}",
        "--max-frames",
        "0",
        "--set",
        "source.on_decode_error=truncate",
    )
    assert code == 0, err
    assert 5 <= len(decode_rgb(out_dir / "out.mp4")) < 40


def test_zero_frame_video(capsys, out_dir, tmp_path):
    empty = tmp_path / "empty.mp4"
    with av.open(str(empty), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
    expect_error(capsys, out_dir, empty, "--source", f"video:{empty}")


def test_unsupported_codec(capsys, out_dir, tmp_path, clip):
    odd = tmp_path / "odd.avi"
    frames = [cv2.resize(f, (64, 64)) for f in decode_rgb(clip)[:3]]
    write_clip(odd, frames)
    odd.write_bytes(odd.read_bytes().replace(b"H264", b"ZZZZ"))
    expect_error(capsys, out_dir, odd, "--source", f"video:{odd}", says="codec")


# --- weights and config -------------------------------------------------------------------


def test_weights_from_another_architecture(capsys, out_dir, clip, tmp_path):
    from reenact.engine.weights import save_module
    from reenact_lab.nn.patchgan import PatchDiscriminator
    from reenact.nn.unet import UNetGenerator

    disc = save_module(tmp_path / "disc.safetensors", PatchDiscriminator(ndf=8))
    expect_error(capsys, out_dir, disc, *source(clip), "--weights", str(disc), says="expected")
    small = save_module(tmp_path / "unet128.safetensors", UNetGenerator(ngf=8, size=128))
    expect_error(capsys, out_dir, small, *source(clip), "--weights", str(small), says="size")


def test_pickle_checkpoint_is_refused(capsys, out_dir, clip, tmp_path, monkeypatch):
    from reenact.nn.unet import UNetGenerator

    pickled = tmp_path / "generator.safetensors"
    torch.save(UNetGenerator(ngf=8, size=256).state_dict(), pickled)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    expect_error(capsys, out_dir, pickled, *source(clip), "--weights", str(pickled), says="pickle")


def test_config_typo(capsys, out_dir, clip, tmp_path):
    preset = tmp_path / "mine.yaml"
    preset.write_text("renderer:\n  sizee: 256\n")
    expect_error(
        capsys, out_dir, preset, *source(clip), "--config", str(preset), says="renderer.sizee"
    )


# --- outputs: never destroy an input, fail before the first frame or at the first write error --


def one_error_line(code: int, err: str, names: Path | str, says: str = "") -> str:
    """Exactly one `reenact: error:` line naming `names`, no traceback, a non-zero exit."""
    lines = [l for l in err.splitlines() if l.startswith("reenact: error:")]
    assert code != 0 and len(lines) == 1 and "Traceback" not in err, err
    assert str(names) in lines[0] and says.lower() in lines[0].lower(), lines[0]
    return lines[0]


def partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".partial")]


@pytest.mark.parametrize("how", ["same name", "symlink", "hard link", "dotted path"])
def test_output_that_is_the_source_video_is_refused(capsys, tmp_path, clip, how):
    source_clip = tmp_path / "me.mp4"
    source_clip.write_bytes(clip.read_bytes())
    before = source_clip.read_bytes()
    output = {
        "same name": source_clip,
        "symlink": tmp_path / "link.mp4",
        "hard link": tmp_path / "hard.mp4",
        "dotted path": tmp_path / "." / "me.mp4",
    }[how]
    if how == "symlink":
        output.symlink_to(source_clip)
    elif how == "hard link":
        output.hardlink_to(source_clip)
    code = main(["run", "--source", f"video:{source_clip}", "--sink", f"file:{output}"])
    one_error_line(code, capsys.readouterr().err, output, says="same file as the video source")
    assert source_clip.read_bytes() == before and not partials(tmp_path)


@pytest.mark.parametrize("role", ["target video", "target image", "targets_dir image"])
def test_output_that_is_a_target_is_refused(capsys, tmp_path, clip, portraits_dir, role):
    portrait = tmp_path / "face.jpg"
    portrait.write_bytes((portraits_dir / PORTRAIT).read_bytes())
    args = ["--target", str(portrait)]
    if role == "target video":
        output = tmp_path / "face.mp4"
        output.write_bytes(clip.read_bytes())
        args = ["--target", str(output)]
    elif role == "target image":  # the output's name is a hard link to the target picture
        output = tmp_path / "face_as.mp4"
        output.hardlink_to(portrait)
    else:  # the output's name is a symlink to an avatar of the targets folder
        (tmp_path / "avatars").mkdir()
        avatar = portrait.rename(tmp_path / "avatars" / "a.jpg")
        output = tmp_path / "b.mp4"
        output.symlink_to(avatar)
        args = ["--set", f"stream.targets_dir={tmp_path / 'avatars'}"]
    before = output.read_bytes()
    code = main(["run", "--source", f"video:{clip}", "--sink", f"file:{output}", *args])
    one_error_line(code, capsys.readouterr().err, output, says=f"same file as the {role}")
    assert output.read_bytes() == before and not partials(tmp_path)


def test_output_that_is_a_directory_is_refused(capsys, tmp_path, clip):
    folder = tmp_path / "result.mp4"
    folder.mkdir()
    code = main(["run", "--source", f"video:{clip}", "--sink", f"file:{folder}"])
    one_error_line(code, capsys.readouterr().err, folder, says="is a directory")
    assert not any(folder.iterdir()) and not partials(tmp_path)


@pytest.fixture
def small_disk(request, tmp_path):
    """A fresh 1 MiB tmpfs mounted with the test's options (needs root and mount; skipped with
    the reason where it cannot be made)."""
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size=1M{request.param}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip() or 'not root'}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.parametrize(
    "small_disk, says",
    [("", "MiB free"), (",ro", "read-only file system")],
    ids=["full", "read-only"],
    indirect=["small_disk"],
)
def test_full_or_read_only_disk_is_refused_before_the_first_frame(clip, small_disk, says):
    output = small_disk / "out.mp4"
    code, err, _ = run_cli(
        "run", "--source", f"video:{clip}", "--sink", f"file:{output}", "--renderer", "warp"
    )
    one_error_line(code, err, output, says=says)
    assert "frame/s" not in err  # refused before the progress bar's first frame
    assert not any(small_disk.iterdir())


def test_a_write_error_fails_at_that_frame_and_leaves_nothing(tmp_path, clips_dir):
    output = tmp_path / "out" / "result.mp4"
    code, err, _ = run_cli(
        "run",
        "--source",
        f"video:{clips_dir / 'hdtf_aoc.mp4'}",
        "--sink",
        f"file:{output}",
        "--renderer",
        "warp",
        "--max-frames",
        "120",
        "--set",
        "sink.crf=0",  # lossless: FFmpeg's 32 KiB write
        file_size_limit=8 * 1024,
    )  # buffer fills within the first frames
    line = one_error_line(code, err, output, says="cannot write frame")
    frame = int(line.split("cannot write frame ")[1].split()[0])
    assert frame < 120, line  # at the first error, not at the end
    assert not output.exists() and not partials(tmp_path)


# --- image bombs --------------------------------------------------------------------------


def bomb_png(path: Path, side: int = 20000) -> Path:
    """A side x side 1-bit grayscale PNG of one colour (a few tens of KB), written row by row
    without ever holding the image: a decompression bomb."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    packer, row = zlib.compressobj(9), b"\x00" + bytes((side + 7) // 8)
    data = b"".join(packer.compress(row * 100) for _ in range(side // 100)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
    return path


def bomb_jpeg(path: Path, side: int = 20000) -> Path:
    """A small JPEG whose header (SOF0) says side x side: decoding it would allocate it all."""
    import struct

    _ok, encoded = cv2.imencode(".jpg", np.full((16, 16, 3), 128, np.uint8))
    data = bytearray(encoded.tobytes())
    sof = data.index(b"\xff\xc0")  # marker, length (2), precision (1), height (2), width (2)
    data[sof + 5 : sof + 9] = struct.pack(">HH", side, side)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("make", [bomb_png, bomb_jpeg], ids=["png", "jpeg"])
def test_image_bomb_is_refused_from_its_header(tmp_path, clip, make):
    bomb = make(tmp_path / f"huge.{'png' if make is bomb_png else 'jpg'}")
    out_dir = tmp_path / "out"
    code, err, peak_mib = run_cli(
        "run",
        "--source",
        f"video:{clip}",
        "--target",
        str(bomb),
        "--sink",
        f"file:{out_dir / 'out.mp4'}",
    )
    one_error_line(code, err, bomb, says="too large")
    assert "20000x20000" in err or "400 Mpx" in err
    assert peak_mib < 1024, f"peak RSS {peak_mib:.0f} MiB: the image was decoded"
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_peak_rss_is_the_commands_own_not_pytests():
    """The bomb test's peak is the command's, however much this process holds: run after the
    unit tests (models loaded) a plain fork reported pytest's own peak, over 1 GiB, for any
    command. Here this process holds 1.2 GiB while `reenact --version` runs."""
    held = np.ones(1200 * 2**20, np.uint8)  # touched: resident
    code, _err, peak_mib = run_cli("--version")
    assert int(held[-1]) == 1
    del held
    assert code == 0
    assert 10 < peak_mib < 600, f"peak RSS {peak_mib:.0f} MiB: not the command's own"


# --- settings out of range, a 1x1 target, broken weights ----------------------------------


@pytest.mark.parametrize(
    "setting",
    [
        "renderer.size=-256",
        "renderer.size=300",
        "smoothing.min_cutoff=-1",
        "smoothing.beta=-5",
        "smoothing.d_cutoff=0",
        "smoothing.crop_blend=2",
        "stream.max_output_side=1",
        "tracker.max_faces=-1",
        "stream.intensity=100",
        "smoothing.min_cutoff=.nan",
        "smoothing.beta=.inf",
    ],
)
def test_setting_out_of_range_is_one_line(capsys, out_dir, clip, setting):
    key, value = setting.split("=")
    line = expect_error(capsys, out_dir, f"{key}:", *source(clip), "--set", setting)
    assert ("not a finite number" if value.startswith(".") else "out of range") in line


def test_range_checks_cover_presets_and_flags(capsys, out_dir, clip, tmp_path):
    preset = tmp_path / "mine.yaml"
    preset.write_text("smoothing:\n  crop_blend: 1.0\n")
    expect_error(
        capsys,
        out_dir,
        preset,
        *source(clip),
        "--config",
        str(preset),
        says="smoothing.crop_blend: 1.0 is out of range; it must be in [0, 1)",
    )
    expect_error(
        capsys, out_dir, "stream.intensity", *source(clip), "--intensity", "3", says="in [0, 1.5]"
    )


def test_one_pixel_target(capsys, out_dir, clip, tmp_path):
    dot = save_image(tmp_path / "dot.png", np.full((1, 1, 3), 200, np.uint8))
    expect_error(capsys, out_dir, dot, *source(clip), "--target", str(dot), says="1x1 px")


def test_generator_weights_full_of_nan(capsys, out_dir, clip, tmp_path):
    from reenact.engine.weights import save_module
    from reenact.nn.unet import UNetGenerator

    model = UNetGenerator(ngf=8, size=256)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(float("nan"))
    broken = save_module(tmp_path / "diverged.safetensors", model)
    expect_error(
        capsys,
        out_dir,
        broken,
        *source(clip),
        "--weights",
        str(broken),
        "--renderer",
        "generator",
        says="NaN",
    )


# --- a clip whose frame rate is absurd ----------------------------------------------------


def test_clip_saying_1000_fps_is_played_at_a_stated_rate(tmp_path, clip):
    odd = write_clip(tmp_path / "fast.mp4", decode_rgb(clip)[:6], fps=1000)
    output = tmp_path / "out.mp4"
    code, err, _ = run_cli(
        "run", "--source", f"video:{odd}", "--sink", f"file:{output}", "--renderer", "warp"
    )
    assert code == 0 and "Traceback" not in err, err
    warnings = [l for l in err.splitlines() if "WARNING" in l and str(odd) in l]
    assert len(warnings) == 1 and "1000 fps" in warnings[0] and "25 fps" in warnings[0], err
    with av.open(str(output)) as container:
        assert float(container.streams.video[0].average_rate) == pytest.approx(25.0)
