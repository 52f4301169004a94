"""H.264 (and friends) encoding through PyAV, shared by the sinks that encode: the file and the
UDP stream. yuv420p needs even sizes: `EvenPadder` pads an odd width or height by one replicated
column/row without allocating per frame. The encoders in `ALPHA_FORMATS` also keep an RGBA
frame's alpha (VP9 in WebM/Matroska, ProRes 4444, QuickTime RLE and PNG in MOV)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from reenact.errors import ReenactError
from reenact.stopping import stop_signals_deferred

ENCODERS = {
    "h264": "libx264",
    "avc": "libx264",
    "hevc": "libx265",
    "h265": "libx265",
    "vp9": "libvpx-vp9",
    "av1": "libaom-av1",
    "prores": "prores_ks",
}
CRF_ENCODERS = {"libx264", "libx265", "libvpx-vp9", "libaom-av1"}
# the pixel format that keeps alpha, for the encoders that can
ALPHA_FORMATS = {
    "libvpx-vp9": "yuva420p",
    "prores_ks": "yuva444p10le",
    "qtrle": "argb",
    "png": "rgba",
}
ENCODER_OPTIONS = {
    # libvpx's default ("good", cpu-used 1) runs at a few frames a second: too slow for a live loop
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "b": "0"},
    "prores_ks": {"profile": "4444"},  # the ProRes profile that carries alpha
}


def encoder_name(codec: str) -> str:
    """'h264' -> 'libx264'; an FFmpeg encoder name passes through. ReenactError if unknown."""
    name = ENCODERS.get(codec.lower(), codec)
    if name not in av.codecs_available:
        raise ReenactError(f"sink.codec '{codec}': no such encoder in this FFmpeg build; use h264")
    return name


def even_size(width: int, height: int) -> tuple[int, int]:
    return width + (width & 1), height + (height & 1)


class EvenPadder:
    """Pads (H, W, C) frames (RGB or RGBA) to even sizes by replicating the last column/row; no
    per-frame allocation (one buffer per channel count, reused). A frame that is already even
    passes through untouched."""

    def __init__(self, *, width: int, height: int) -> None:
        self.width, self.height = width, height
        self._size = even_size(width, height)
        self._buffer: np.ndarray | None = None

    def pad(self, image: np.ndarray) -> np.ndarray:
        padded_w, padded_h = self._size
        if (padded_w, padded_h) == (self.width, self.height):
            return image
        channels = image.shape[2]
        if self._buffer is None or self._buffer.shape[2] != channels:
            self._buffer = np.empty((padded_h, padded_w, channels), np.uint8)
        buffer, w, h = self._buffer, self.width, self.height
        buffer[:h, :w] = image
        if buffer.shape[1] > w:
            buffer[:h, w] = image[:, w - 1]
        if buffer.shape[0] > h:
            buffer[h] = buffer[h - 1]
        return buffer


def add_h264_stream(
    container,
    *,
    codec: str,
    width: int,
    height: int,
    fps: float,
    options: dict[str, str],
    alpha: bool = False,
) -> av.video.stream.VideoStream:
    """A video stream of even size at `fps` (as an exact-ish fraction) with `options`: yuv420p,
    or with `alpha` the encoder's format in ALPHA_FORMATS (ReenactError if it has none)."""
    encoder = encoder_name(codec)
    if alpha and encoder not in ALPHA_FORMATS:
        raise ReenactError(
            f"sink.codec '{codec}' cannot keep alpha; use one of {', '.join(sorted(ALPHA_FORMATS))}"
        )
    stream = container.add_stream(encoder, rate=Fraction(fps).limit_denominator(1001))
    stream.width, stream.height = even_size(width, height)
    stream.pix_fmt = ALPHA_FORMATS[encoder] if alpha else "yuv420p"
    if encoder not in CRF_ENCODERS:  # crf/preset/tune are x264-family options
        options = {k: v for k, v in options.items() if k not in ("crf", "preset", "tune")}
    elif not encoder.startswith("libx26"):  # preset/tune are x264's and x265's alone
        options = {k: v for k, v in options.items() if k not in ("preset", "tune")}
    stream.options = {**ENCODER_OPTIONS.get(encoder, {}), **options}
    return stream


def encode_frame(container, stream, image: np.ndarray, pts: int) -> None:
    """Encode one (H, W, 3) RGB or (H, W, 4) RGBA uint8 frame (already even-sized) and mux its
    packets, with Ctrl-C and SIGTERM deferred until they are muxed
    (`reenact.stopping.stop_signals_deferred`)."""
    frame = av.VideoFrame.from_ndarray(image, format="rgba" if image.shape[2] == 4 else "rgb24")
    frame.pts = pts
    with stop_signals_deferred():
        for packet in stream.encode(frame):
            container.mux(packet)


def flush_encoder(container, stream) -> None:
    for packet in stream.encode(None):
        container.mux(packet)
