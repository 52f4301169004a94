"""The file sink writes real frames that PyAV reads back: count, size, content, atomicity, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from reenact.errors import DeviceError, ReenactError
from reenact_plugins.sinks.file import FileSink
from tests.helpers import ctrl_c_as_default


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / max(mse, 1e-9))


def _probe(path: Path) -> tuple[int, int, int, str, float]:
    """(decoded frames, width, height, codec, fps) as PyAV reads the file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return (
            frames,
            stream.width,
            stream.height,
            stream.codec_context.name,
            float(stream.average_rate),
        )


def test_written_file_has_every_frame_at_its_size(
    tmp_path: Path, sink_frames, decode_video
) -> None:
    path = tmp_path / "deep" / "er" / "out.mp4"  # parent folders are created
    with FileSink(
        FileSink.Options(path=str(path), crf=18), width=160, height=120, fps=25.0
    ) as sink:
        assert not path.exists() and sink.partial_path.exists()  # written under a temporary name
        for image in sink_frames:
            sink.write(image)
    assert path.exists() and not sink.partial_path.exists()
    assert _probe(path) == (16, 160, 120, "h264", 25.0)
    decoded = decode_video(path)
    assert min(_psnr(a, b) for a, b in zip(decoded, sink_frames)) > 30.0
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"


def test_odd_size_is_padded_to_even(tmp_path: Path, sink_frames, decode_video) -> None:
    odd = [np.ascontiguousarray(f[:119, :159]) for f in sink_frames[:6]]
    path = tmp_path / "odd.mp4"
    with FileSink(FileSink.Options(path=str(path)), width=159, height=119, fps=30.0) as sink:
        assert sink.encoded_size == (160, 120)
        for image in odd:
            sink.write(image)
    decoded = decode_video(path)
    assert len(decoded) == 6 and decoded[0].shape == (120, 160, 3)
    assert _psnr(decoded[3][:119, :159], odd[3]) > 30.0


def test_keyboard_interrupt_in_the_caller_leaves_a_playable_file(
    tmp_path: Path, sink_frames
) -> None:
    path = tmp_path / "interrupted.mp4"
    with pytest.raises(KeyboardInterrupt):
        with FileSink(FileSink.Options(path=str(path)), width=160, height=120, fps=30.0) as sink:
            for index, image in enumerate(sink_frames):
                sink.write(image)
                if index == 6:
                    raise KeyboardInterrupt
    assert _probe(path)[:3] == (7, 160, 120)
    assert not sink.partial_path.exists()


def test_real_sigint_leaves_a_playable_file(tmp_path: Path, clip_path: Path) -> None:
    """A writer process gets a real SIGINT (Ctrl-C) mid-stream: the file is complete and valid."""
    path = tmp_path / "ctrl_c.mp4"
    script = textwrap.dedent(f"""
        import av, sys
        from reenact_plugins.sinks.file import FileSink
        frames = [f.to_ndarray(format="rgb24", width=96, height=96)
                  for f in av.open({str(clip_path)!r}).decode(video=0)]
        with FileSink(FileSink.Options(path={str(path)!r}), width=96, height=96, fps=30.0) as sink:
            index = 0
            while True:
                sink.write(frames[index % len(frames)])
                index += 1
                if index == 10:
                    print("writing", flush=True)
    """)
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_as_default,
    )
    try:
        assert child.stdout.readline().strip() == "writing"
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert "KeyboardInterrupt" in stderr
    frames, width, height, codec, _ = _probe(path)
    assert frames >= 10 and (width, height, codec) == (96, 96, "h264")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ctrl_c.mp4"]  # no partial left behind


def test_no_frames_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "nothing.mp4"
    FileSink(FileSink.Options(path=str(path)), width=64, height=64, fps=30.0).close()
    assert list(tmp_path.iterdir()) == []


def test_other_containers_by_extension(tmp_path: Path, sink_frames) -> None:
    path = tmp_path / "out.mkv"
    with FileSink(FileSink.Options(path=str(path)), width=160, height=120, fps=30.0) as sink:
        for image in sink_frames[:4]:
            sink.write(image)
    assert _probe(path)[:4] == (4, 160, 120, "h264")


@pytest.mark.parametrize("where", ["proc", "under_a_file"])
def test_unwritable_path_is_one_line_error(tmp_path: Path, where: str) -> None:
    path = Path("/proc/nonexistent/x.mp4")
    if where == "under_a_file":  # a folder name that is taken by a file (fails even as root)
        (tmp_path / "taken").write_text("a file, not a folder")
        path = tmp_path / "taken" / "x.mp4"
    with pytest.raises(DeviceError) as exc:
        FileSink(FileSink.Options(path=str(path)), width=64, height=64, fps=30.0)
    message = str(exc.value)
    assert "\n" not in message and str(path) in message and "sink.path" in message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_directory_is_one_line_error(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(DeviceError, match="locked") as exc:
            FileSink(FileSink.Options(path=str(folder / "x.mp4")), width=64, height=64, fps=30.0)
        assert "\n" not in str(exc.value)
    finally:
        folder.chmod(0o700)


def test_unknown_extension_and_codec(tmp_path: Path) -> None:
    with pytest.raises(ReenactError, match="extension"):
        FileSink(FileSink.Options(path=str(tmp_path / "x.xyz")), width=64, height=64, fps=30.0)
    with pytest.raises(ReenactError, match="nonesuch"):
        FileSink(
            FileSink.Options(path=str(tmp_path / "x.mp4"), codec="nonesuch"),
            width=64,
            height=64,
            fps=30.0,
        )
    assert list(tmp_path.iterdir()) == []  # nothing half-made left behind


def test_fractional_rate(tmp_path: Path, sink_frames) -> None:
    path = tmp_path / "ntsc.mp4"
    with FileSink(
        FileSink.Options(path=str(path)), width=160, height=120, fps=30000 / 1001
    ) as sink:
        for image in sink_frames[:5]:
            sink.write(image)
    frames, _, _, _, fps = _probe(path)
    assert frames == 5 and fps == pytest.approx(29.97, abs=0.01)


def test_frames_from_resized_clip_match(tmp_path: Path, clip_frames, decode_video) -> None:
    """A sink fed at a different size than the clip still writes exactly what it was given."""
    frames = [cv2.resize(f, (128, 96), interpolation=cv2.INTER_AREA) for f in clip_frames[:8]]
    path = tmp_path / "small.mp4"
    with FileSink(FileSink.Options(path=str(path), crf=10), width=128, height=96, fps=30.0) as sink:
        for image in frames:
            sink.write(image)
    decoded = decode_video(path)
    assert len(decoded) == 8
    assert all(_psnr(a, b) > 34.0 for a, b in zip(decoded, frames))


def test_a_second_writer_of_the_same_output_is_refused(tmp_path: Path, sink_frames) -> None:
    """Issue 85, case 1: two writers of one output shared `.NAME.partial`; the second is now
    refused in one line naming the writer's pid, and touches nothing of the first's."""
    path = tmp_path / "x.mp4"
    options = FileSink.Options(path=str(path))
    with FileSink(options, width=160, height=120, fps=30.0) as first:
        first.write(sink_frames[0])
        with pytest.raises(DeviceError) as refused:
            FileSink(options, width=160, height=120, fps=30.0)
        assert f"{path} is being written by another reenact run (pid {os.getpid()})" in str(
            refused.value
        ) and "\n" not in str(refused.value)
        assert first.partial_path.name.startswith(".x.mp4.") and first.partial_path.exists()
        first.write(sink_frames[1])
    assert _probe(path)[0] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.mp4"]  # no partial, no lock file
    FileSink(options, width=160, height=120, fps=30.0).close()  # free again


def test_a_killed_writer_does_not_block_the_output(tmp_path: Path, sink_frames) -> None:
    """A writer killed with SIGKILL leaves its lock file, but the kernel has dropped its lock."""
    path = tmp_path / "x.mp4"
    script = textwrap.dedent(f"""
        import time
        from reenact_plugins.sinks.file import FileSink
        sink = FileSink(FileSink.Options(path={str(path)!r}), width=64, height=64, fps=30.0)
        print("writing", flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        with pytest.raises(DeviceError, match=f"pid {child.pid}"):
            FileSink(FileSink.Options(path=str(path)), width=64, height=64, fps=30.0)
        child.kill()
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    with FileSink(FileSink.Options(path=str(path)), width=160, height=120, fps=30.0) as sink:
        sink.write(sink_frames[0])
    assert _probe(path)[0] == 1


def test_an_empty_path_is_one_line_error() -> None:
    with pytest.raises(ReenactError, match="no path given"):
        FileSink(FileSink.Options(path=""), width=64, height=64, fps=30.0)
