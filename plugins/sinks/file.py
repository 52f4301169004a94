"""A video file through PyAV: H.264 (libx264, yuv420p, CRF) in MP4 by default.

Written to `.NAME.partial` beside the target and renamed over it when `close()` has flushed the
encoder and written the trailer, so a reader never sees half a file and Ctrl-C (KeyboardInterrupt
leaving a `with` block) still leaves a playable video. yuv420p needs even sizes: an odd width or
height is padded by one replicated column/row (the file is then 1 px larger, `encoded_size`).

The encoding helpers live in `reenact.encode` (shared with the UDP stream sink).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import av
import numpy as np

from dataclasses import dataclass
from reenact.errors import DeviceError, ReenactError
from reenact.encode import (
    EvenPadder, add_h264_stream, encode_frame, encoder_name, even_size, flush_encoder,
)
from reenact.plugin_api import BaseSink

CONTAINER_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska",
                     ".webm": "webm", ".avi": "avi", ".ts": "mpegts"}
FILE_PRESET = "veryfast"  # x264/x265: fast enough to keep up with a live loop on a laptop


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


class FileSink(BaseSink):
    """Encodes frames into `config.path`; `encoded_size` is the (even) size in the file."""

    name = "file"
    suffixes = tuple(CONTAINER_FORMATS)

    @dataclass(frozen=True)
    class Options:
        """`sink.path`: the video to write; `sink.codec`; `sink.crf`: quality (lower = better)."""

        path: str = "out/reenact.mp4"
        codec: str = "h264"
        crf: int = 20

    def __init__(self, config: Options, *, width: int, height: int, fps: float) -> None:
        super().__init__(width=width, height=height, fps=fps)
        self.path = Path(config.path)
        self.output_path = self.path
        container_format = CONTAINER_FORMATS.get(self.path.suffix.lower())
        if container_format is None:
            raise ReenactError(
                f"file sink: cannot tell the video format of {self.path} from its extension; "
                f"use one of {', '.join(sorted(CONTAINER_FORMATS))}"
            )
        self.partial_path = self.path.with_name(f".{self.path.name}.partial")
        self.encoded_size = even_size(self.width, self.height)
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
        """Append one (height, width, 3) uint8 RGB frame."""
        if self._closed:
            raise ReenactError(f"file sink: write to {self.path} after close()")
        image = self.check_frame(image)
        try:
            encode_frame(self._container, self._stream, self._padder.pad(image), self.frames_written)
        except (av.error.FFmpegError, OSError) as exc:
            raise DeviceError(f"file sink: cannot write {self.path}: {_one_line(exc)}") from exc
        self.frames_written += 1

    def _close(self) -> None:
        """Flush the encoder, write the trailer, rename the partial file (or drop it if empty)."""
        try:
            try:
                flush_encoder(self._container, self._stream)
            except (av.error.FFmpegError, OSError) as exc:
                raise DeviceError(f"file sink: cannot write {self.path}: {_one_line(exc)}") from exc
        finally:  # also on KeyboardInterrupt: the trailer makes what was written playable
            self._finish()

    def _finish(self) -> None:
        try:
            self._container.close()
        except (av.error.FFmpegError, OSError) as exc:
            raise DeviceError(
                f"file sink: cannot finish {self.path}: {_one_line(exc)}; the partial output is "
                f"{self.partial_path}"
            ) from exc
        try:
            if self.frames_written == 0:
                self.partial_path.unlink(missing_ok=True)
            else:
                os.replace(self.partial_path, self.path)
        except OSError as exc:
            raise DeviceError(
                f"file sink: cannot move {self.partial_path} to {self.path}: {_one_line(exc)}"
            ) from exc
