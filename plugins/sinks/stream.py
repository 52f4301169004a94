"""Low-latency MPEG-TS over UDP (H.264 ultrafast/zerolatency) through PyAV.

The alternative to a virtual camera that needs no kernel module: in OBS add a *Media Source*,
untick "Local File" and enter the same URL (`udp://127.0.0.1:23000` by default). Nobody listening
is not an error (UDP); a receiver that joins late starts at the next keyframe (every `GOP_S`).
"""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import av
import numpy as np

from dataclasses import dataclass

from reenact.config.schema import AtLeastOne
from reenact.errors import DeviceError, ReenactError
from reenact.plugin_api import BaseSink
from reenact.encode import EvenPadder, add_h264_stream, encode_frame, flush_encoder

SCHEMES = ("udp", "srt", "tcp")
UDP_PACKET_BYTES = 1316  # 7 TS packets of 188 bytes: fits one Ethernet MTU
GOP_S = 0.5  # keyframe interval: how long a receiver joining mid-stream waits


def _url_error(url: str, why: str) -> DeviceError:
    return DeviceError(
        f"stream sink: bad url '{url}': {why}; use udp://HOST:PORT, e.g. udp://127.0.0.1:23000"
    )


def normalise_url(url: str) -> str:
    """Check `scheme://host:port[?query]` and add `pkt_size=1316` to UDP URLs that lack it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES:
        raise _url_error(url, f"scheme must be one of {', '.join(SCHEMES)}")
    try:
        port = parts.port
    except ValueError:
        raise _url_error(url, "port must be a number from 1 to 65535") from None
    if not parts.hostname:
        raise _url_error(url, "no host")
    if not port:
        raise _url_error(url, "no port")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if parts.scheme == "udp":
        query.setdefault("pkt_size", str(UDP_PACKET_BYTES))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


class StreamSink(BaseSink):
    """Sends frames to `config.url` as H.264 in MPEG-TS at `config.bitrate_kbps`."""

    name = "stream"
    realtime = True

    @dataclass(frozen=True)
    class Options:
        """`sink.url`: where MPEG-TS goes (`stream:URL`); `sink.codec`; `sink.bitrate_kbps`."""

        url: str = "udp://127.0.0.1:23000"
        codec: str = "h264"
        bitrate_kbps: AtLeastOne = 4000

    @classmethod
    def spec_options(cls, argument: str) -> dict[str, str]:
        return {"url": argument}

    def __init__(self, config: Options, *, width: int, height: int, fps: float) -> None:
        super().__init__(width=width, height=height, fps=fps)
        self.url = normalise_url(config.url)
        self.encoded_size = (width + (width & 1), height + (height & 1))
        self._padder = EvenPadder(width=self.width, height=self.height)
        try:
            self._container = av.open(self.url, mode="w", format="mpegts")
        except (av.error.FFmpegError, OSError) as exc:
            raise _url_error(config.url, _reason(exc)) from exc
        gop = max(1, round(self.fps * GOP_S))
        options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(gop),
                   "keyint_min": str(gop), "bf": "0"}
        try:
            self._stream = add_h264_stream(self._container, codec=config.codec, width=self.width,
                                           height=self.height, fps=self.fps, options=options)
            self._stream.bit_rate = int(config.bitrate_kbps) * 1000
            self._container.start_encoding()
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            self._container.close()
            self._closed = True
            raise DeviceError(f"stream sink: cannot start streaming to {self.url}: {_reason(exc)}") from exc

    def write(self, image: np.ndarray) -> None:
        """Encode and send one (height, width, 3) uint8 RGB frame."""
        if self._closed:
            raise ReenactError(f"stream sink: write to {self.url} after close()")
        image = self.check_frame(image)
        try:
            encode_frame(self._container, self._stream, self._padder.pad(image), self.frames_written)
        except (av.error.FFmpegError, OSError) as exc:
            raise DeviceError(f"stream sink: cannot send to {self.url}: {_reason(exc)}") from exc
        self.frames_written += 1

    def _close(self) -> None:
        try:
            flush_encoder(self._container, self._stream)
        except (av.error.FFmpegError, OSError):
            pass  # the receiver may be gone; closing must still release the socket
        finally:
            with contextlib.suppress(av.error.FFmpegError, OSError):
                self._container.close()


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())
