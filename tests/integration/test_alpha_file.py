"""`compose.background: transparent` into a file that keeps alpha, end to end: a real clip drives
a photo and an RGBA cartoon through `reenact run` (real tracking and segmentation, the warp)
into WebM (VP9) and MOV (ProRes 4444); PyAV reads the alpha back, clear around the avatar and
opaque on its face."""

from __future__ import annotations

import pytest

from reenact.cli.main import main
from tests.alpha_media import PHOTO, decode_rgba, far_from, on_face, rgba_cartoon

SIDE = 384  # stream.max_output_side: small frames, a fast test
FRAMES = 6


def _run(clips_dir, target, path, *settings: str) -> None:
    args = [
        "run",
        "--source",
        f"video:{clips_dir / 'lp_d1.mp4'}",
        "--sink",
        f"file:{path}",
        "--target",
        str(target),
        "--renderer",
        "warp",
        "--max-frames",
        str(FRAMES),
        "--set",
        f"stream.max_output_side={SIDE}",
        "--set",
        "calibration.neutral_frames=2",
        "--set",
        "calibration.neutral_window=2",
        "--set",
        f"stream.output_dir={path.parent}",
    ]
    for setting in settings:
        args += ["--set", setting]
    assert main(args) == 0


@pytest.mark.parametrize("suffix, codec", [(".webm", "vp9"), (".mov", "prores")])
def test_a_transparent_photo_is_written_with_its_alpha(
    tmp_path, clips_dir, portraits_dir, suffix, codec
):
    path = tmp_path / f"avatar{suffix}"
    _run(clips_dir, portraits_dir / PHOTO, path, "compose.background=transparent")
    name, frames = decode_rgba(path)
    assert name == codec and len(frames) == FRAMES
    for frame in frames:
        alpha = frame[..., 3]
        assert alpha[:4, :4].max() <= 8 and alpha[:4, -4:].max() <= 8  # the wall: clear
        assert on_face(alpha, frame[..., :3]).min() >= 247  # the face: opaque
        assert 0.15 < (alpha > 127).mean() < 0.85  # a person, not the whole frame


def test_an_rgba_cartoon_keeps_its_own_alpha_in_the_webm(tmp_path, clips_dir, portraits_dir):
    target, alpha = rgba_cartoon(portraits_dir, tmp_path, SIDE)
    path = tmp_path / "cartoon.webm"
    _run(clips_dir, target, path, "compose.background=transparent")
    _, frames = decode_rgba(path)
    far = far_from(alpha, 0.15)
    assert len(frames) == FRAMES and far.any()
    for frame in frames:
        assert frame[..., 3][far].max() <= 8  # the picture's own alpha, not a segmentation's
        assert on_face(frame[..., 3], frame[..., :3]).min() >= 247


def test_a_picture_background_writes_an_opaque_webm(tmp_path, clips_dir, portraits_dir):
    path = tmp_path / "picture.webm"
    _run(clips_dir, portraits_dir / PHOTO, path)
    _, frames = decode_rgba(path)
    assert len(frames) == FRAMES and min(f[..., 3].min() for f in frames) >= 250
