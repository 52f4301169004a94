"""The file sink keeps alpha where its container can: RGBA frames of a real face with a soft
round matte, written to WebM (VP9) and MOV (ProRes 4444) and read back by PyAV with alpha;
MP4 stays RGB and refuses RGBA in one line."""

from __future__ import annotations


import av
import cv2
import numpy as np
import pytest

from reenact.errors import ReenactError
from reenact_plugins.sinks.file import FileSink
from tests.alpha_media import decode_rgba

W, H = 159, 119  # odd on purpose: padded to even like RGB frames


def _matte() -> np.ndarray:
    """(H, W) uint8: 255 on a disc in the middle, 0 around it, a soft edge between."""
    matte = np.zeros((H, W), np.uint8)
    cv2.circle(matte, (W // 2, H // 2), 40, 255, -1)
    return cv2.GaussianBlur(matte, (7, 7), 0)


@pytest.fixture(scope="module")
def rgba_frames(clip_frames) -> list[np.ndarray]:
    """Real frames (H, W, 4) uint8 RGBA, straight alpha, the same matte on each."""
    matte = _matte()
    return [
        np.dstack([cv2.resize(f, (W, H), interpolation=cv2.INTER_AREA), matte])
        for f in clip_frames[:8]
    ]


@pytest.mark.parametrize("suffix, codec", [(".webm", "vp9"), (".mov", "prores")])
def test_alpha_containers_keep_the_matte(tmp_path, rgba_frames, suffix, codec) -> None:
    path = tmp_path / f"avatar{suffix}"
    with FileSink(FileSink.Options(path=str(path)), width=W, height=H, fps=25.0) as sink:
        assert sink.alpha
        for image in rgba_frames:
            sink.write(image)
    name, frames = decode_rgba(path)
    assert name == codec and len(frames) == len(rgba_frames)
    matte = _matte()
    for back, sent in zip(frames, rgba_frames):
        alpha = back[:H, :W, 3].astype(int)
        assert np.abs(alpha - matte).max() <= 24  # lossy codecs: the soft edge moves a little
        assert alpha[matte == 0].max() <= 8 and alpha[matte == 255].min() >= 247
        inside = matte == 255
        error = np.abs(back[:H, :W, :3].astype(int) - sent[..., :3])[inside].mean()
        assert error < 8.0  # the face is there under the opaque matte


def test_rgb_frames_in_an_alpha_file_are_opaque(tmp_path, rgba_frames) -> None:
    """With a picture background the loop writes RGB: the WebM is opaque everywhere."""
    path = tmp_path / "picture.webm"
    with FileSink(FileSink.Options(path=str(path)), width=W, height=H, fps=25.0) as sink:
        for image in rgba_frames[:3]:
            sink.write(np.ascontiguousarray(image[..., :3]))
    _, frames = decode_rgba(path)
    assert len(frames) == 3 and min(f[..., 3].min() for f in frames) >= 250


def test_mp4_has_no_alpha_and_refuses_rgba_in_one_line(tmp_path, rgba_frames) -> None:
    path = tmp_path / "flat.mp4"
    with FileSink(FileSink.Options(path=str(path)), width=W, height=H, fps=25.0) as sink:
        assert not sink.alpha
        with pytest.raises(ReenactError, match=r"expects \(119, 159, 3\)") as exc:
            sink.write(rgba_frames[0])
        assert "\n" not in str(exc.value)
        sink.write(np.ascontiguousarray(rgba_frames[0][..., :3]))
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"


def test_a_named_codec_decides_alpha(tmp_path) -> None:
    """qtrle in MOV keeps alpha; H.264 named for a MOV does not."""
    rle = FileSink(
        FileSink.Options(path=str(tmp_path / "rle.mov"), codec="qtrle"),
        width=64,
        height=48,
        fps=25.0,
    )
    h264 = FileSink(
        FileSink.Options(path=str(tmp_path / "h264.mov"), codec="h264"),
        width=64,
        height=48,
        fps=25.0,
    )
    assert rle.alpha and not h264.alpha
    rle.abort()
    h264.abort()
