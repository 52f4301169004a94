"""One contract, run over every source and sink installed through entry points.

Sources: explicit width/height/fps/pixel_format, frames of that size as C-contiguous RGB uint8
with counting indices, close() twice, context-manager use, probe() as None or one line.
Sinks: the same attributes, real frames in, wrong frames refused, close() twice, write after
close refused, context-manager use.
"""

from __future__ import annotations

import numpy as np
import pytest

from reenact.errors import ReenactError
from reenact.plugin_api import (
    PIXEL_FORMAT,
    SINK_GROUP,
    SOURCE_GROUP,
    Frame,
    FrameSink,
    FrameSource,
    entry_points,
    load_plugin,
)

SOURCES = sorted(entry_points(SOURCE_GROUP))
SINKS = sorted(entry_points(SINK_GROUP))


def test_the_shipped_plugins_are_discovered() -> None:
    assert {"webcam", "video", "image"} <= set(SOURCES)
    assert {"virtualcam", "file", "stream", "window", "null"} <= set(SINKS)


# ------------------------------------------------------------------------------------ sources


@pytest.mark.parametrize("name", SOURCES)
def test_source_probe_is_none_or_one_line(name: str) -> None:
    cls = load_plugin(SOURCE_GROUP, name)
    assert cls.name == name
    reason = cls.probe(None)
    assert reason is None or (isinstance(reason, str) and reason and "\n" not in reason)


@pytest.mark.parametrize("name", SOURCES)
def test_source_states_its_format_and_delivers_it(name: str, make_source, source_size) -> None:
    source = make_source(name)
    try:
        assert isinstance(source, FrameSource)
        assert (source.width, source.height) == source_size
        assert isinstance(source.width, int) and isinstance(source.height, int)
        assert isinstance(source.fps, float) and source.fps > 0
        assert source.pixel_format == PIXEL_FORMAT == "rgb24"
        assert isinstance(source.live, bool)
        last_ns, last_pts = -1, -1.0
        for index in range(6):
            frame = source.read()
            assert isinstance(frame, Frame)
            assert frame.index == index
            assert frame.image.shape == (source.height, source.width, 3)
            assert frame.image.dtype == np.uint8 and frame.image.flags["C_CONTIGUOUS"]
            assert frame.image.std() > 5.0  # a real picture, not a blank buffer
            assert frame.timestamp_ns >= last_ns and frame.pts_s > last_pts
            last_ns, last_pts = frame.timestamp_ns, frame.pts_s
    finally:
        source.close()


@pytest.mark.parametrize("name", SOURCES)
def test_source_close_is_idempotent_and_ends_reading(name: str, make_source) -> None:
    source = make_source(name)
    assert source.read() is not None
    source.close()
    source.close()
    assert source.read() is None


@pytest.mark.parametrize("name", SOURCES)
def test_source_as_context_manager(name: str, make_source) -> None:
    with make_source(name) as source:
        assert source.read() is not None
    assert source.read() is None
    source.close()


# -------------------------------------------------------------------------------------- sinks


@pytest.mark.parametrize("name", SINKS)
def test_sink_probe_is_none_or_one_line(name: str) -> None:
    cls = load_plugin(SINK_GROUP, name)
    assert cls.name == name
    reason = cls.probe(cls.Options())
    assert reason is None or (isinstance(reason, str) and reason and "\n" not in reason)


@pytest.mark.parametrize("name", SINKS)
def test_sink_states_its_format_and_takes_real_frames(
    name: str, make_sink, sink_frames, sink_size
) -> None:
    sink = make_sink(name, fps=25.0)
    try:
        assert isinstance(sink, FrameSink)
        assert (sink.width, sink.height, sink.fps) == (*sink_size, 25.0)
        assert isinstance(sink.width, int) and isinstance(sink.fps, float)
        assert sink.pixel_format == PIXEL_FORMAT
        for image in sink_frames[:5]:
            sink.write(image)
        assert sink.frames_written == 5
    finally:
        sink.close()


@pytest.mark.parametrize("name", SINKS)
def test_sink_refuses_frames_of_another_size_or_type(name: str, make_sink, sink_frames) -> None:
    with make_sink(name) as sink:
        with pytest.raises(ReenactError, match=name):
            sink.write(sink_frames[0][:-2])
        with pytest.raises(ReenactError, match=name):
            sink.write(sink_frames[0].astype(np.float32))
        with pytest.raises(ReenactError, match=name):
            sink.write(sink_frames[0][:, :, 0].copy())
        assert sink.frames_written == 0


@pytest.mark.parametrize("name", SINKS)
def test_sink_close_is_idempotent_and_write_after_close_fails(
    name: str, make_sink, sink_frames
) -> None:
    sink = make_sink(name)
    sink.write(sink_frames[0])
    sink.close()
    sink.close()
    with pytest.raises(ReenactError, match="after close"):
        sink.write(sink_frames[1])


@pytest.mark.parametrize("name", SINKS)
def test_sink_as_context_manager_closes_on_error(name: str, make_sink, sink_frames) -> None:
    with pytest.raises(RuntimeError, match="caller failed"):
        with make_sink(name) as sink:
            sink.write(sink_frames[0])
            raise RuntimeError("caller failed")
    with pytest.raises(ReenactError, match="after close"):
        sink.write(sink_frames[1])


@pytest.mark.parametrize("name", SINKS)
def test_sink_refuses_an_invalid_size(name: str, make_sink) -> None:
    with pytest.raises(ReenactError):
        make_sink(name, width=0)
    with pytest.raises(ReenactError):
        make_sink(name, fps=0.0)
