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
from tests.helpers import decode_rgb, write_clip

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
    expect_error(capsys, out_dir, missing, *source(clip), "--target", str(missing), says="not found")


def test_target_that_is_not_an_image(capsys, out_dir, clip, tmp_path):
    fake = tmp_path / "notes.jpg"
    fake.write_text("these are not pixels")
    expect_error(capsys, out_dir, fake, *source(clip), "--target", str(fake))


def test_landscape_with_no_face(capsys, out_dir, clip, tmp_path):
    from skimage import data

    landscape = save_image(tmp_path / "landscape.png", data.coffee())
    expect_error(capsys, out_dir, landscape, *source(clip), "--target", str(landscape),
                 says="no face")


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
    expect_error(capsys, out_dir, group, *source(clip), "--target", str(group),
                 "--set", "tracker.multiple_faces=error", says="faces")


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
    expect_ok(capsys, out_dir, *source(clip), "--target", str(path),
              "--set", "tracker.small_face=upscale")


# --- source videos ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def truncated(clips_dir, tmp_path_factory) -> Path:
    frames = decode_rgb(clips_dir / "lp_d0.mp4")[:40]
    path = write_clip(tmp_path_factory.mktemp("trunc") / "cut.mp4", frames, fps=25,
                      container_options={"movflags": "frag_keyframe+empty_moov"},
                      options={"g": "5"})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_truncated_video_error_or_up_to_the_break(capsys, out_dir, truncated):
    expect_error(capsys, out_dir, truncated, "--source", f"video:{truncated}",
                 "--max-frames", "0", says="truncated")
    code, err = run(capsys, out_dir, "--source", f"video:{truncated}", "--max-frames", "0",
                    "--set", "source.on_decode_error=truncate")
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
    from reenact.nn.patchgan import PatchDiscriminator
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
    expect_error(capsys, out_dir, pickled, *source(clip), "--weights", str(pickled),
                 says="pickle")


def test_config_typo(capsys, out_dir, clip, tmp_path):
    preset = tmp_path / "mine.yaml"
    preset.write_text("renderer:\n  sizee: 256\n")
    expect_error(capsys, out_dir, preset, *source(clip), "--config", str(preset),
                 says="renderer.sizee")
