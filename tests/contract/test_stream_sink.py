"""The stream sink sends real frames over UDP; a PyAV reader in the same test decodes them."""

from __future__ import annotations

import threading
import time

import av
import numpy as np
import pytest

from reenact.errors import DeviceError
from reenact_plugins.sinks.stream import StreamSink, normalise_url

WANTED = 20  # frames the reader must decode
CLIPS = ["lp_d0.mp4", "lp_d1.mp4", "lp_d2.mp4", "lp_d3.mp4", "lp_d5.mp4", "lp_d7.mp4"]
DEADLINE_S = 20.0  # bound on the whole exchange; not a speed assertion


class UdpReader(threading.Thread):
    """Opens udp://127.0.0.1:PORT with PyAV (MPEG-TS) and decodes up to WANTED frames."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.url = f"udp://127.0.0.1:{port}?timeout=3000000&fifo_size=65536&overrun_nonfatal=1"
        self.frames: list[np.ndarray] = []
        self.error: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            options = {"probesize": "65536", "analyzeduration": "500000"}
            with av.open(
                self.url, format="mpegts", options=options, timeout=(10.0, 5.0)
            ) as container:
                for frame in container.decode(video=0):
                    self.frames.append(frame.to_ndarray(format="rgb24"))
                    if len(self.frames) >= WANTED:
                        break
        except (av.error.FFmpegError, OSError) as exc:
            self.error = exc
        finally:
            self.done.set()


@pytest.fixture(scope="module")
def distinct_frames(clips_dir) -> list[np.ndarray]:
    """First frames of six real clips (six people) at 160x120: each unmistakable for another."""
    frames = []
    for name in CLIPS:
        with av.open(str(clips_dir / name)) as container:
            first = next(container.decode(video=0))
            frames.append(first.to_ndarray(format="rgb24", width=160, height=120))
    return frames


def _nearest(image: np.ndarray, references: list[np.ndarray]) -> tuple[int, float]:
    """Index of the reference frame closest to `image`, and the mean absolute difference."""
    errors = [np.abs(image.astype(np.int16) - ref).mean() for ref in references]
    best = int(np.argmin(errors))
    return best, float(errors[best])


def test_frames_arrive_over_udp_decodable_and_in_order(distinct_frames, udp_port: int) -> None:
    port = udp_port
    reader = UdpReader(port)
    reader.start()
    deadline = time.monotonic() + DEADLINE_S
    sent = 0
    with StreamSink(
        StreamSink.Options(url=f"udp://127.0.0.1:{port}", bitrate_kbps=2000),
        width=160,
        height=120,
        fps=30.0,
    ) as sink:
        assert "pkt_size=1316" in sink.url
        while not reader.done.is_set() and time.monotonic() < deadline:
            sink.write(distinct_frames[sent % len(distinct_frames)])
            sent += 1
            time.sleep(1 / 60)  # gentle rate so the receiver's socket buffer never overflows
    reader.join(timeout=10)
    assert reader.error is None, f"reader failed: {reader.error}"
    assert len(reader.frames) == WANTED, f"only {len(reader.frames)} frames after sending {sent}"
    matches = [_nearest(image, distinct_frames) for image in reader.frames]
    assert all(image.shape == (120, 160, 3) for image in reader.frames)
    assert max(error for _, error in matches) < 6.0  # each frame is one of the real frames sent
    order = [index for index, _ in matches]
    steps = {(b - a) % len(distinct_frames) for a, b in zip(order, order[1:])}
    assert steps == {1}  # consecutive, in the order they were sent


def test_odd_size_is_padded(sink_frames, udp_port: int) -> None:
    config = StreamSink.Options(url=f"udp://127.0.0.1:{udp_port}")
    with StreamSink(config, width=159, height=119, fps=30.0) as sink:
        assert sink.encoded_size == (160, 120)
        sink.write(np.ascontiguousarray(sink_frames[0][:119, :159]))
        assert sink.frames_written == 1


@pytest.mark.parametrize(
    "url",
    [
        "nonsense",
        "http://127.0.0.1:8080",
        "udp://127.0.0.1",
        "udp://127.0.0.1:99999",
        "udp://:23000",
        "udp://127.0.0.1:port",
    ],
)
def test_bad_url_is_one_line_error(url: str) -> None:
    with pytest.raises(DeviceError, match="stream sink: bad url") as exc:
        StreamSink(StreamSink.Options(url=url), width=64, height=64, fps=30.0)
    assert "\n" not in str(exc.value) and url in str(exc.value)


def test_url_keeps_user_options() -> None:
    assert normalise_url("udp://127.0.0.1:23000") == "udp://127.0.0.1:23000?pkt_size=1316"
    custom = "udp://239.0.0.1:1234?ttl=2&pkt_size=188"
    assert normalise_url(custom) == custom
