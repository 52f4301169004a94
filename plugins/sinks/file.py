"""A video file through PyAV: H.264 (libx264, yuv420p, CRF) in MP4 by default.

Written to `.NAME.partial` beside the target and renamed over it when `close()` has flushed the
encoder and written the trailer, so a reader never sees half a file and Ctrl-C (KeyboardInterrupt
leaving a `with` block) still leaves a playable video. Before opening, the output is checked (not a
directory, writable, room for a few seconds: `reenact.pipeline.outputs`); a write error fails at
the frame that meets it and removes the partial file. yuv420p needs even sizes: an odd width or
height is padded by one replicated column/row (the file is then 1 px larger, `encoded_size`).

`add_h264_stream` and `EvenPadder` are shared with the UDP stream sink.
"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from reenact.config.schema import SinkConfig
from reenact.errors import DeviceError, ReenactError
from reenact.pipeline.outputs import check_writable, room_needed
from reenact.plugin_api import BaseSink

CONTAINER_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska",
                     ".webm": "webm", ".avi": "avi", ".ts": "mpegts"}
ENCODERS = {"h264": "libx264", "avc": "libx264", "hevc": "libx265", "h265": "libx265",
            "vp9": "libvpx-vp9", "av1": "libaom-av1"}
CRF_ENCODERS = {"libx264", "libx265", "libvpx-vp9", "libaom-av1"}
FILE_PRESET = "veryfast"  # x264/x265: fast enough to keep up with a live loop on a laptop


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
    """Encode one (H, W, 3) uint8 RGB frame (already even-sized) and mux its packets."""
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    frame.pts = pts
    for packet in stream.encode(frame):
        container.mux(packet)


def flush_encoder(container, stream) -> None:
    for packet in stream.encode(None):
        container.mux(packet)


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


class FileSink(BaseSink):
    """Encodes frames into `config.path`; `encoded_size` is the (even) size in the file."""

    name = "file"

    def __init__(self, config: SinkConfig, *, width: int, height: int, fps: float) -> None:
        super().__init__(width=width, height=height, fps=fps)
        self.path = Path(config.path)
        container_format = CONTAINER_FORMATS.get(self.path.suffix.lower())
        if container_format is None:
            raise ReenactError(
                f"file sink: cannot tell the video format of {self.path} from its extension; "
                f"use one of {', '.join(sorted(CONTAINER_FORMATS))}"
            )
        self.partial_path = self.path.with_name(f".{self.path.name}.partial")
        self.encoded_size = even_size(self.width, self.height)
        check_writable(self.path, room_needed(*self.encoded_size, self.fps))
        self._padder = EvenPadder(width=self.width, height=self.height)
        self._container = self._open(container_format)
        try:
            self._stream = add_h264_stream(
                self._container, codec=config.codec, width=self.width, height=self.height,
                fps=self.fps, options={"crf": str(int(config.crf)), "preset": FILE_PRESET},
            )
            self._container.start_encoding()  # header now: a bad path fails here, not mid-run
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            self._abandon()
            raise DeviceError(
                f"file sink: cannot start writing {self.path}: {_one_line(exc)}"
            ) from exc
        except BaseException:
            self._abandon()
            raise

    @classmethod
    def output_paths(cls, config: SinkConfig) -> list[str]:
        return [config.path]

    def _open(self, container_format: str):
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return av.open(str(self.partial_path), mode="w", format=container_format)
        except (OSError, av.error.FFmpegError) as exc:
            raise DeviceError(
                f"file sink: cannot write {self.path}: {_one_line(exc)}; choose a writable "
                f"path with --set sink.path=..."
            ) from exc

    def _abandon(self) -> None:
        """Close and delete the partial file after a failed start."""
        with contextlib.suppress(av.error.FFmpegError, OSError):
            self._container.close()
        with contextlib.suppress(OSError):
            self.partial_path.unlink(missing_ok=True)
        self._closed = True

    def abort(self) -> None:
        """The run failed: close and delete the partial file; nothing half-written is left."""
        if not self._closed:
            self._abandon()

    def write(self, image: np.ndarray) -> None:
        """Append one (height, width, 3) uint8 RGB frame. A write error (disk full, file too
        large, device gone) fails here, at the first frame that meets it, and removes the
        partial file."""
        if self._closed:
            raise ReenactError(f"file sink: write to {self.path} after close()")
        image = self.check_frame(image)
        try:
            encode_frame(self._container, self._stream, self._padder.pad(image), self.frames_written)
        except (av.error.FFmpegError, OSError) as exc:
            self._fail(exc, f"frame {self.frames_written}")
        self.frames_written += 1

    def _fail(self, exc: BaseException, what: str) -> None:
        """Drop the partial file and raise one line saying what could not be written."""
        self._abandon()
        raise DeviceError(
            f"file sink: cannot write {what} of {self.path}: {_one_line(exc)}; "
            f"nothing was kept (free some space or write elsewhere)"
        ) from exc

    def _close(self) -> None:
        """Flush the encoder, write the trailer, rename the partial file (or drop it if empty).
        A write error here also removes the partial file."""
        try:
            flush_encoder(self._container, self._stream)
        except (av.error.FFmpegError, OSError) as exc:
            self._fail(exc, "the last frames")
        except BaseException:  # Ctrl-C while flushing: the trailer still makes the file playable
            self._finish()
            raise
        self._finish()

    def _finish(self) -> None:
        try:
            self._container.close()
        except (av.error.FFmpegError, OSError) as exc:
            self._fail(exc, "the end (index)")
        try:
            if self.frames_written == 0:
                self.partial_path.unlink(missing_ok=True)
            else:
                os.replace(self.partial_path, self.path)
        except OSError as exc:
            raise DeviceError(
                f"file sink: cannot move {self.partial_path} to {self.path}: {_one_line(exc)}"
            ) from exc
