"""The video source on real clips: content, looping, resizing, truncated and broken files."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from reenact.errors import InputError
from reenact_plugins.sources.video import VideoSource


def _read_all(source: VideoSource, limit: int = 1000) -> list:
    frames = []
    while len(frames) < limit and (frame := source.read()) is not None:
        frames.append(frame)
    return frames


def _one_line_naming(exc: pytest.ExceptionInfo, path: Path) -> str:
    message = str(exc.value)
    assert "\n" not in message and path.name in message
    return message


def test_native_frames_equal_a_plain_pyav_decode(clip_path: Path, clip_frames) -> None:
    with VideoSource(VideoSource.Options(path=str(clip_path))) as source:
        assert (source.width, source.height, source.fps) == (512, 512, 30.0)
        assert source.frame_count == 16 and source.live is False
        frames = _read_all(source)
    assert len(frames) == 16
    for frame, expected in zip(frames, clip_frames):
        np.testing.assert_array_equal(frame.image, expected)
    assert [f.index for f in frames] == list(range(16))
    assert frames[-1].pts_s == pytest.approx(15 / 30)


def test_resize_keeps_aspect_when_one_side_given(clip_path: Path, clip_frames) -> None:
    with VideoSource(VideoSource.Options(path=str(clip_path), width=128)) as source:
        assert (source.width, source.height) == (128, 128)
        image = source.read().image
    expected = cv2.resize(clip_frames[0], (128, 128), interpolation=cv2.INTER_AREA)
    assert image.shape == (128, 128, 3)
    assert np.abs(image.astype(np.int16) - expected).mean() < 3.0


def test_loop_continues_past_the_end_with_counting_indices(clip_path: Path, clip_frames) -> None:
    with VideoSource(
        VideoSource.Options(path=str(clip_path), loop=True, width=64, height=64)
    ) as source:
        frames = _read_all(source, limit=40)
    assert len(frames) == 40  # more than the clip's 16
    assert [f.index for f in frames] == list(range(40))
    pts = [f.pts_s for f in frames]
    assert all(b > a for a, b in zip(pts, pts[1:]))
    np.testing.assert_array_equal(frames[0].image, frames[16].image)
    np.testing.assert_array_equal(frames[5].image, frames[37].image)
    assert not np.array_equal(frames[0].image, frames[5].image)


def test_realtime_makes_a_file_live(clip_path: Path) -> None:
    with VideoSource(
        VideoSource.Options(path=str(clip_path), realtime=True, width=32, height=32)
    ) as source:
        assert source.live is True
        assert len(_read_all(source)) >= 1


@pytest.fixture(scope="module")
def truncated_clip(tmp_path_factory, clip_frames, encode_clip, decode_video):
    """A real clip (index at the front, no B-frames) cut in half, and the intact clip's frames."""
    folder = tmp_path_factory.mktemp("truncated")
    frames = [cv2.resize(f, (256, 256), interpolation=cv2.INTER_AREA) for f in clip_frames]
    intact = encode_clip(
        folder / "intact.mp4",
        frames,
        options={"bf": "0", "g": "4", "crf": "18"},
        container_options={"movflags": "+faststart"},
    )
    data = intact.read_bytes()
    cut = folder / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    return cut, decode_video(intact)


def test_truncated_video_truncate_mode_stops_at_the_break(truncated_clip) -> None:
    cut, intact_frames = truncated_clip
    with VideoSource(VideoSource.Options(path=str(cut), on_decode_error="truncate")) as source:
        frames = _read_all(source)
        assert source.ended_early
    assert 0 < len(frames) < 16
    for frame, expected in zip(frames, intact_frames):  # only intact frames, none half-decoded
        np.testing.assert_array_equal(frame.image, expected)


def test_truncated_video_error_mode_names_the_frame(truncated_clip) -> None:
    cut, _ = truncated_clip
    with VideoSource(VideoSource.Options(path=str(cut), on_decode_error="truncate")) as source:
        good = len(_read_all(source))
    source = VideoSource(VideoSource.Options(path=str(cut), on_decode_error="error"))
    got = 0
    with pytest.raises(InputError, match=f"truncated at frame {good}") as exc:
        while source.read() is not None:
            got += 1
    source.close()
    assert got == good
    _one_line_naming(exc, cut)


def test_truncated_video_with_loop_repeats_the_good_part(truncated_clip) -> None:
    cut, intact_frames = truncated_clip
    with VideoSource(VideoSource.Options(path=str(cut), on_decode_error="truncate")) as source:
        good = len(_read_all(source))
    config = VideoSource.Options(path=str(cut), on_decode_error="truncate", loop=True)
    with VideoSource(config) as source:
        frames = _read_all(source, limit=3 * good + 1)
    assert len(frames) == 3 * good + 1
    for frame in frames:  # the good part, again and again
        np.testing.assert_array_equal(frame.image, intact_frames[frame.index % good])


def test_file_cut_before_its_index_is_unreadable(tmp_path: Path, clip_path: Path) -> None:
    cut = tmp_path / "no_moov.mp4"
    data = clip_path.read_bytes()  # lp_d1.mp4 keeps its index (moov) at the end
    cut.write_bytes(data[: len(data) // 2])
    for mode in ("error", "truncate"):
        with pytest.raises(InputError, match="not a readable video") as exc:
            VideoSource(VideoSource.Options(path=str(cut), on_decode_error=mode))
        _one_line_naming(exc, cut)


def test_zero_frame_video(tmp_path: Path) -> None:
    path = tmp_path / "empty.avi"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        container.start_encoding()
    with av.open(str(path)) as check:
        assert len(check.streams.video) == 1  # a video stream, but no frames in it
    with pytest.raises(InputError, match="no decodable frames") as exc:
        VideoSource(VideoSource.Options(path=str(path)))
    _one_line_naming(exc, path)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "voice.wav"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000, layout="mono")
        samples = (np.sin(np.arange(8000) / 5.0) * 3000).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(InputError, match="no video stream") as exc:
        VideoSource(VideoSource.Options(path=str(path)))
    _one_line_naming(exc, path)


def test_not_a_video_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("just some text, saved with a video extension\n" * 50)
    with pytest.raises(InputError, match="not a readable video") as exc:
        VideoSource(VideoSource.Options(path=str(path)))
    _one_line_naming(exc, path)


@pytest.mark.parametrize("kind", ["missing", "empty", "directory"])
def test_missing_empty_or_directory(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "clip.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
    with pytest.raises(InputError) as exc:
        VideoSource(VideoSource.Options(path=str(path)))
    _one_line_naming(exc, path)


def test_bad_decode_error_mode(clip_path: Path) -> None:
    with pytest.raises(InputError, match="on_decode_error"):
        VideoSource(VideoSource.Options(path=str(clip_path), on_decode_error="ignore"))


@pytest.mark.parametrize(
    "degrees, turn",
    [(-90, cv2.ROTATE_90_CLOCKWISE), (90, cv2.ROTATE_90_COUNTERCLOCKWISE), (180, cv2.ROTATE_180)],
)
def test_phone_video_is_turned_upright(
    tmp_path: Path, clip_frames, decode_video, degrees, turn
) -> None:
    """A display-matrix rotation (what phones record) is applied, as players do."""
    path = tmp_path / "phone.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 128, 64, "yuv420p"
        stream.set_display_rotation(degrees)
        for index, image in enumerate(clip_frames[:4]):
            frame = av.VideoFrame.from_ndarray(cv2.resize(image, (128, 64)), format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    stored = decode_video(path)  # plain PyAV: as stored, not rotated
    with VideoSource(VideoSource.Options(path=str(path))) as source:
        upright = (64, 128) if degrees == 180 else (128, 64)
        assert (source.height, source.width) == upright
        frames = _read_all(source)
    assert len(frames) == 4
    for frame, raw in zip(frames, stored):
        np.testing.assert_array_equal(frame.image, cv2.rotate(raw, turn))


def test_unsupported_codec(tmp_path: Path, clip_frames) -> None:
    """An AVI whose video FourCC no FFmpeg decoder knows (a real H.264 stream, relabelled)."""
    path = tmp_path / "odd.avi"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for index, image in enumerate(clip_frames[:3]):
            frame = av.VideoFrame.from_ndarray(cv2.resize(image, (64, 64)), format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    data = path.read_bytes()
    assert b"H264" in data
    path.write_bytes(data.replace(b"H264", b"ZZZZ"))
    with pytest.raises(InputError, match="unsupported video codec") as exc:
        VideoSource(VideoSource.Options(path=str(path)))
    _one_line_naming(exc, path)


def test_a_truncated_fragmented_video_keeps_counting_time(
    tmp_path: Path, clip_frames, encode_clip
) -> None:
    """The frames a truncated fragmented file's decoder still holds at the break come without a
    presentation time (PyAV gives NaN): each gets the last time plus one frame, so the live
    loop's clocks (smoothing, head motion) keep running."""
    frames = [cv2.resize(f, (256, 256), interpolation=cv2.INTER_AREA) for f in clip_frames]
    intact = encode_clip(
        tmp_path / "intact.mp4",
        frames,
        options={"g": "5"},
        container_options={"movflags": "frag_keyframe+empty_moov"},
    )
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(intact.read_bytes()[: len(intact.read_bytes()) // 2])
    with VideoSource(VideoSource.Options(path=str(cut), on_decode_error="truncate")) as source:
        times = np.array([frame.pts_s for frame in _read_all(source)])
    assert len(times) >= 5
    assert np.isfinite(times).all()
    assert (np.diff(times) > 0).all()
