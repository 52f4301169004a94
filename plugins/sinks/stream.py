"""Low-latency MPEG-TS over UDP or TCP (H.264 ultrafast/zerolatency) through PyAV.

The alternative to a virtual camera that needs no kernel module: in OBS add a *Media Source*,
untick "Local File" and enter the same URL (`udp://127.0.0.1:23000` by default). Nobody listening
is not an error (UDP); a receiver that joins late starts at the next keyframe (every `GOP_S`).
Over TCP a receiver that stops reading ends the run after `WRITE_TIMEOUT_S` of a blocked write,
with one line; a protocol this FFmpeg build lacks (SRT, often) is refused when the sink opens.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import av
import av.format
import numpy as np

from dataclasses import dataclass

from reenact.config.schema import AtLeastOne
from reenact.errors import DeviceError, ReenactError
from reenact.plugin_api import BaseSink
from reenact.encode import EvenPadder, add_h264_stream, encode_frame, flush_encoder

log = logging.getLogger("reenact.sinks")  # under reenact's logger: shown by default, -q hides it
SCHEMES = ("udp", "srt", "tcp")
UDP_PACKET_BYTES = 1316  # 7 TS packets of 188 bytes: fits one Ethernet MTU
GOP_S = 0.5  # keyframe interval: how long a receiver joining mid-stream waits
# A signal cannot interrupt FFmpeg's blocked TCP write, so Ctrl-C and SIGTERM wait this long at
# most; it counts only once the kernel's buffers (seconds of video) are full
WRITE_TIMEOUT_S = 2


def _url_error(url: str, why: str) -> DeviceError:
    return DeviceError(
        f"stream sink: bad url '{url}': {why}; use udp://HOST:PORT, e.g. udp://127.0.0.1:23000"
    )


@functools.cache
def output_protocols() -> frozenset[str] | None:
    """The protocols this PyAV's FFmpeg can write to (FFmpeg's `avio_enum_protocols`, which PyAV
    does not wrap), or None where the library cannot be asked."""
    try:
        enum = ctypes.CDLL(av.format.__file__).avio_enum_protocols
    except (OSError, AttributeError):
        return None
    enum.restype = ctypes.c_char_p
    enum.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int]
    cursor, names = ctypes.c_void_p(), set()
    while (name := enum(ctypes.byref(cursor), 1)) is not None:
        names.add(name.decode())
    return frozenset(names)


def _no_protocol(url: str, scheme: str) -> DeviceError:
    available = output_protocols()
    usable = [s for s in SCHEMES if s != scheme and (available is None or s in available)]
    return DeviceError(
        f"stream sink: cannot stream to '{url}': this FFmpeg build (PyAV "
        f"{av.__version__}) has no {scheme} protocol; it has {', '.join(usable)}"
    )


def normalise_url(url: str) -> str:
    """Check `scheme://host:port[?query]`, add `pkt_size=1316` to UDP URLs that lack it and a
    write timeout (`timeout=`, microseconds) to TCP URLs that lack one."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise _url_error(url, f"{exc} (an IPv6 host goes in brackets: udp://[::1]:23000)") from None
    if parts.scheme not in SCHEMES:
        raise _url_error(url, f"scheme must be one of {', '.join(SCHEMES)}")
    available = output_protocols()
    if available is not None and parts.scheme not in available:
        raise _no_protocol(url, parts.scheme)
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
    if parts.scheme == "tcp":
        query.setdefault("timeout", str(WRITE_TIMEOUT_S * 1_000_000))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


class StreamSink(BaseSink):
    """Sends frames to `config.url` as H.264 in MPEG-TS at `config.bitrate_kbps`."""

    name = "stream"
    realtime = True

    @dataclass(frozen=True)
    class Options:
        """`sink.url`: where MPEG-TS goes (`stream:URL`); `sink.codec`; `sink.bitrate_kbps`."""

        url: str = "udp://127.0.0.1:23000"
        codec: str = "h264"  # the video encoder (FFmpeg's name)
        bitrate_kbps: AtLeastOne = 4000  # the encoder's target rate, kilobits a second

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
        options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "g": str(gop),
            "keyint_min": str(gop),
            "bf": "0",
        }
        try:
            self._stream = add_h264_stream(
                self._container,
                codec=config.codec,
                width=self.width,
                height=self.height,
                fps=self.fps,
                options=options,
            )
            self._stream.bit_rate = int(config.bitrate_kbps) * 1000
            self._container.start_encoding()  # opens the URL: connects, for TCP
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            self._container.close()
            self._closed = True
            if isinstance(exc, av.error.ProtocolNotFoundError):
                raise _no_protocol(config.url, urlsplit(self.url).scheme) from None
            raise DeviceError(
                f"stream sink: cannot start streaming to {self.url}: {_reason(exc)}"
            ) from exc
        log.info(
            "output: %s (MPEG-TS, %s; in OBS: a Media Source with this address)",
            config.url.strip(),
            config.codec,
        )

    def write(self, image: np.ndarray) -> None:
        """Encode and send one (height, width, 3) uint8 RGB frame. A stop signal during a blocked
        write is acted on when the write returns, within the write timeout for TCP (`encode_frame`
        defers it: PyAV loses a KeyboardInterrupt raised while it builds its own error)."""
        if self._closed:
            raise ReenactError(f"stream sink: write to {self.url} after close()")
        image = self.check_frame(image)
        try:
            encode_frame(
                self._container, self._stream, self._padder.pad(image), self.frames_written
            )
        except TimeoutError:
            raise _stopped_reading(self.url) from None
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


def _stopped_reading(url: str) -> DeviceError:
    """A write that timed out (FFmpeg's tcp `timeout=`, microseconds): the receiver is stuck."""
    parts = urlsplit(url)
    try:
        timeout_s = int(dict(parse_qsl(parts.query))["timeout"]) / 1_000_000
    except (KeyError, ValueError):
        timeout_s = WRITE_TIMEOUT_S
    return DeviceError(
        f"stream sink: the stream receiver at {parts.scheme}://{parts.netloc} "
        f"stopped reading for {timeout_s:g} s; nothing more can be sent (give it "
        "longer with ?timeout=MICROSECONDS in the URL)"
    )


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())
