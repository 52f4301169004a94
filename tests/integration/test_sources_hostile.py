"""Video and camera sources as a hostile new user meets them (issue 85, cases 8 and 13):
two MPEG-TS files joined end to end, a file with two video streams, a FIFO or a device given as
a file, and a camera that is not there. Real files made with PyAV, the real CLI in a child
process (bounded by a timeout), one line each."""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
import threading
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from reenact.errors import DeviceError, InputError
from reenact.imageio import load_image
from reenact_plugins.sources.image import ImageSource
from reenact_plugins.sources.video import VideoSource
from reenact_plugins.sources.webcam import WebcamSource, list_video_devices
from tests.helpers import decode_rgb, run_cli, write_clip

CLIP = "lp_d1.mp4"
FRAMES = 15  # per TS file: FFmpeg flags the joined file's 14th packet corrupt (continuity gap)
TIMEOUT_S = 120  # bound on each child `reenact`; a run here takes seconds
REFUSED_PEAK_MIB = 300  # the bound on the memory of a refused input


def reenact(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The real command in a child process, from `cwd` (its run logs land there)."""
    return subprocess.run(
        [sys.executable, "-m", "reenact.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """Non-zero exit, no traceback, exactly one `reenact: error:` line; that line."""
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("reenact: error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def small_frames(clips_dir: Path) -> list[np.ndarray]:
    """The real clip's first frames at 256x256, (256, 256, 3) uint8 RGB."""
    return [
        cv2.resize(f, (256, 256), interpolation=cv2.INTER_AREA)
        for f in decode_rgb(clips_dir / CLIP)[:FRAMES]
    ]


@pytest.fixture(scope="module")
def joined_ts(tmp_path_factory, small_frames) -> Path:
    """`cat a.ts a.ts > joined.ts`: fully decodable, but FFmpeg flags a packet corrupt."""
    folder = tmp_path_factory.mktemp("joined")
    single = write_clip(folder / "a.ts", small_frames)
    joined = folder / "joined.ts"
    joined.write_bytes(single.read_bytes() * 2)
    return joined


def test_joined_ts_is_not_truncated_every_frame_decodes(joined_ts: Path) -> None:
    with av.open(str(joined_ts)) as container:  # the premise: a corrupt flag, 30 frames anyway
        flags = [p.is_corrupt for p in container.demux(video=0) if p.size]
    assert any(flags) and not flags[-1]
    expected = decode_rgb(joined_ts)
    assert len(expected) == 2 * FRAMES
    for mode in ("error", "truncate"):
        with VideoSource(VideoSource.Options(path=str(joined_ts), on_decode_error=mode)) as source:
            frames = []
            while len(frames) < 100 and (frame := source.read()) is not None:
                frames.append(frame)
            assert not source.ended_early and source.damaged_packets >= 1
        assert len(frames) == 2 * FRAMES
        for frame, reference in zip(frames, expected):
            np.testing.assert_array_equal(frame.image, reference)
        pts = [f.pts_s for f in frames]  # the second file's clock restarts: times carry on
        assert all(b > a for a, b in zip(pts, pts[1:])), pts


def test_joined_ts_through_the_cli_writes_every_frame(joined_ts: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = reenact(
        "run",
        "--source",
        f"video:{joined_ts}",
        "--sink",
        f"file:{out}",
        "--max-frames",
        "0",
        "--renderer",
        "warp",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "truncated" not in result.stderr and "Traceback" not in result.stderr
    assert sum("damaged packet" in l for l in result.stderr.splitlines()) == 1, result.stderr
    assert len(decode_rgb(out)) == 2 * FRAMES


@pytest.fixture(scope="module")
def two_streams(tmp_path_factory, small_frames) -> Path:
    """A Matroska file with two video streams: 64x64 first, 256x256 second, neither default."""
    path = tmp_path_factory.mktemp("streams") / "two.mkv"
    with av.open(str(path), mode="w") as container:
        streams = [container.add_stream("libx264", rate=30) for _ in range(2)]
        for stream, side in zip(streams, (64, 256)):
            stream.width = stream.height = side
            stream.pix_fmt = "yuv420p"
        for index, image in enumerate(small_frames[:6]):
            for stream in streams:
                frame = av.VideoFrame.from_ndarray(
                    cv2.resize(image, (stream.width, stream.height)), format="rgb24"
                )
                frame.pts = index
                for packet in stream.encode(frame):
                    container.mux(packet)
        for stream in streams:
            for packet in stream.encode(None):
                container.mux(packet)
    return path


def test_of_two_video_streams_the_largest_is_used_and_named(two_streams: Path, caplog) -> None:
    with av.open(str(two_streams)) as container:
        assert [s.width for s in container.streams.video] == [64, 256]
        assert not any(
            s.disposition & av.stream.Disposition.default for s in container.streams.video
        )
    with caplog.at_level(logging.WARNING, logger="reenact.video"):
        with VideoSource(VideoSource.Options(path=str(two_streams))) as source:
            assert (source.width, source.height) == (256, 256)
            assert source.read().image.shape == (256, 256, 3)
    lines = [r.getMessage() for r in caplog.records if "video streams" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "2 video streams" in lines[0] and "stream 1 (256x256" in lines[0]
    assert two_streams.name in lines[0]


def test_two_video_streams_through_the_cli_is_one_line(two_streams: Path, tmp_path) -> None:
    out = tmp_path / "out.mp4"
    result = reenact(
        "run",
        "--source",
        f"video:{two_streams}",
        "--sink",
        f"file:{out}",
        "--max-frames",
        "2",
        "--renderer",
        "warp",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    said = [l for l in result.stderr.splitlines() if "video streams" in l]
    assert len(said) == 1 and "using stream 1" in said[0], result.stderr


def _release_a_blocked_reader(fifo: Path) -> threading.Timer:
    """Bounds the old behaviour (open() of a FIFO waits for a writer): after 5 s, a writer
    comes and goes, so a blocked reader sees end of file instead of hanging the test."""

    def knock() -> None:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # nobody is reading it: nothing to release
            pass

    timer = threading.Timer(5.0, knock)
    timer.start()
    return timer


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("kind, suffix", [(VideoSource, ".mp4"), (ImageSource, ".png")])
def test_a_fifo_as_a_source_is_refused_in_one_line(tmp_path: Path, kind, suffix) -> None:
    fifo = tmp_path / f"pipe{suffix}"
    os.mkfifo(fifo)
    timer = _release_a_blocked_reader(fifo)
    try:
        with pytest.raises(InputError) as exc:
            kind(kind.Options(path=str(fifo)))
    finally:
        timer.cancel()
    message = str(exc.value)
    assert "\n" not in message and str(fifo) in message
    assert "named pipe (FIFO), not a regular file" in message and "0 bytes" not in message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_fifo_as_a_target_picture_is_refused_in_one_line(tmp_path: Path) -> None:
    fifo = tmp_path / "target.png"
    os.mkfifo(fifo)
    timer = _release_a_blocked_reader(fifo)
    try:
        with pytest.raises(InputError) as exc:
            load_image(fifo)
    finally:
        timer.cancel()
    message = str(exc.value)
    assert "\n" not in message and f"{fifo} is a named pipe (FIFO), not an image file" in message


@pytest.mark.timeout(TIMEOUT_S)  # run_cli has no timeout of its own
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_character_device_as_a_video_is_refused_before_loading(tmp_path: Path) -> None:
    code, err, peak_mib = run_cli(
        "run", "--source", "video:/dev/zero", "--sink", "null", "--max-frames", "2", cwd=tmp_path
    )
    line = one_error_line(subprocess.CompletedProcess([], code, "", err))
    assert "/dev/zero is a character device, not a regular file" in line
    assert "0 bytes" not in line
    assert peak_mib <= REFUSED_PEAK_MIB, peak_mib  # refused before any model is loaded


@pytest.mark.skipif(
    platform.system() != "Linux" or bool(list_video_devices()),
    reason="needs Linux with no camera (no /dev/video*), as this machine is",
)
@pytest.mark.timeout(TIMEOUT_S)  # run_cli has no timeout of its own
def test_no_camera_is_reenacts_one_line_first_without_opencv_noise(tmp_path: Path) -> None:
    code, err, peak_mib = run_cli("live", "--source", "webcam:0", "--sink", "null", cwd=tmp_path)
    line = one_error_line(subprocess.CompletedProcess([], code, "", err))
    assert next(l for l in err.splitlines() if l.strip()) == line, err  # reenact's line first
    assert "camera 0" in line and "/dev/video0" in line
    assert "[ WARN" not in err and "[ERROR" not in err, err
    assert peak_mib <= REFUSED_PEAK_MIB, peak_mib  # said before any model is loaded


@pytest.mark.skipif(
    platform.system() != "Linux" or bool(list_video_devices()),
    reason="needs Linux with no camera (no /dev/video*), as this machine is",
)
def test_opening_a_missing_camera_directly_keeps_opencv_quiet(capfd) -> None:
    """Without the session's probe (a plugin used as a library): still our line only."""
    with pytest.raises(DeviceError, match=r"camera 0: /dev/video0 does not exist"):
        WebcamSource(WebcamSource.Options(path="0"))
    err = capfd.readouterr().err
    assert "[ WARN" not in err and "[ERROR" not in err, err
