"""H.264 (and friends) encoding through PyAV, shared by the sinks that encode: the file and the
UDP stream. yuv420p needs even sizes: `EvenPadder` pads an odd width or height by one replicated
column/row without allocating per frame."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from reenact.errors import ReenactError
from reenact.stopping import stop_signals_deferred

ENCODERS = {"h264": "libx264", "avc": "libx264", "hevc": "libx265", "h265": "libx265",
            "vp9": "libvpx-vp9", "av1": "libaom-av1"}
CRF_ENCODERS = {"libx264", "libx265", "libvpx-vp9", "libaom-av1"}


def encoder_name(codec: str) -> str:
    """'h264' -> 'libx264'; an FFmpeg encoder name passes through. ReenactError if unknown."""
    name = ENCODERS.get(codec.lower(), codec)
    if name not in av.codecs_available:
        raise ReenactError(f"sink.codec '{codec}': no such encoder in this FFmpeg build; use h264")
    return name


def even_size(width: int, height: int) -> tuple[int, int]:
    return width + (width & 1), height + (height & 1)


class EvenPadder:
    """Pads (H, W, 3) frames to even sizes by replicating the last column/row; no per-frame
    allocation (one buffer, reused). A frame that is already even passes through untouched."""

    def __init__(self, *, width: int, height: int) -> None:
        self.width, self.height = width, height
        padded_w, padded_h = even_size(width, height)
        self._buffer = None
        if (padded_w, padded_h) != (width, height):
            self._buffer = np.empty((padded_h, padded_w, 3), np.uint8)

    def pad(self, image: np.ndarray) -> np.ndarray:
        if self._buffer is None:
            return image
        buffer, w, h = self._buffer, self.width, self.height
        buffer[:h, :w] = image
        if buffer.shape[1] > w:
            buffer[:h, w] = image[:, w - 1]
        if buffer.shape[0] > h:
            buffer[h] = buffer[h - 1]
        return buffer


def add_h264_stream(container, *, codec: str, width: int, height: int, fps: float,
                    options: dict[str, str]) -> av.video.stream.VideoStream:
    """A yuv420p video stream of even size at `fps` (as an exact-ish fraction) with `options`."""
    encoder = encoder_name(codec)
    stream = container.add_stream(encoder, rate=Fraction(fps).limit_denominator(1001))
    stream.width, stream.height = even_size(width, height)
    stream.pix_fmt = "yuv420p"
    if encoder not in CRF_ENCODERS:  # crf/preset/tune are x264-family options
        options = {k: v for k, v in options.items() if k not in ("crf", "preset", "tune")}
    stream.options = dict(options)
    return stream


def encode_frame(container, stream, image: np.ndarray, pts: int) -> None:
    """Encode one (H, W, 3) uint8 RGB frame (already even-sized) and mux its packets, with
    Ctrl-C and SIGTERM deferred until they are muxed
    (`reenact.stopping.stop_signals_deferred`)."""
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    frame.pts = pts
    with stop_signals_deferred():
        for packet in stream.encode(frame):
            container.mux(packet)


def flush_encoder(container, stream) -> None:
    for packet in stream.encode(None):
        container.mux(packet)
