"""A video file through PyAV: H.264 (libx264, yuv420p, CRF) in MP4 by default.

`sink.codec: auto` picks the container's codec: VP9 for `.webm` and ProRes 4444 for `.mov`,
which keep alpha (`alpha` is True: with `compose.background: transparent` the loop writes RGBA
frames, and RGB frames are written opaque), H.264 for the rest (`.mp4`: no alpha). A codec named
in `ALPHA_FORMATS` (vp9 in `.mkv`, qtrle or png in `.mov`) keeps alpha too.

Written to a fresh `.NAME.XXXXXXXX.partial` beside the target (created exclusively) and renamed
over it when `close()` has flushed the encoder and written the trailer, so a reader never sees half
a file and Ctrl-C (KeyboardInterrupt leaving a `with` block) still leaves a playable video. While
it is written the output is locked (`reenact.atomic.OutputLock`): a second run writing the same
file is refused at its start with one line. Before opening, the output is checked (not a
directory, writable, room for a few seconds: `reenact.pipeline.outputs`); a write error fails at
the frame that meets it and removes the partial file. yuv420p needs even sizes: an odd width or
height is padded by one replicated column/row (the file is then 1 px larger, `encoded_size`).

The encoding helpers live in `reenact.encode` (shared with the UDP stream sink).
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import av
import numpy as np

from reenact.atomic import OutputLock, partial_beside
from reenact.config.ranges import Range
from reenact.errors import DeviceError, ReenactError
from reenact.encode import (
    ALPHA_FORMATS,
    EvenPadder,
    add_h264_stream,
    encode_frame,
    encoder_name,
    even_size,
    flush_encoder,
)
from reenact.pipeline.outputs import check_writable, room_needed
from reenact.plugin_api import BaseSink
from reenact.stopping import stop_signals_deferred

log = logging.getLogger("reenact.sinks")  # under reenact's logger: shown by default, -q hides it
CONTAINER_FORMATS = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".mkv": "matroska",
    ".webm": "webm",
    ".avi": "avi",
    ".ts": "mpegts",
}
AUTO_CODECS = {"webm": "vp9", "mov": "prores"}  # else h264
ALPHA_CONTAINERS = {"webm", "mov", "matroska"}
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
        """`sink.path`: the video to write; `sink.codec` (auto: by the path's extension, see the
        module); `sink.crf`: quality (lower = better)."""

        path: str = "out/reenact.mp4"
        codec: str = "auto"
        crf: Annotated[int, Range(0, 63)] = 20  # x264/x265 use 0..51, VP9/AV1 0..63

    def __init__(self, config: Options, *, width: int, height: int, fps: float) -> None:
        super().__init__(width=width, height=height, fps=fps)
        if not str(config.path).strip():
            raise ReenactError(
                "file sink: no path given (sink.path is empty); name the video "
                "to write, e.g. --sink file:out/result.mp4"
            )
        self.path = Path(config.path)
        self.output_path = self.path
        container_format = CONTAINER_FORMATS.get(self.path.suffix.lower())
        if container_format is None:
            raise ReenactError(
                f"file sink: cannot tell the video format of {self.path} from its extension; "
                f"use one of {', '.join(sorted(CONTAINER_FORMATS))}"
            )
        self.encoded_size = even_size(self.width, self.height)
        check_writable(self.path, room_needed(*self.encoded_size, self.fps))
        self._padder = EvenPadder(width=self.width, height=self.height)
        codec = (
            AUTO_CODECS.get(container_format, "h264") if config.codec == "auto" else config.codec
        )
        self.alpha = container_format in ALPHA_CONTAINERS and encoder_name(codec) in ALPHA_FORMATS
        # read by _abandon if _open fails
        self._lock: OutputLock | None = None
        self.partial_path: Path | None = None
        self._container = None
        self._container = self._open(container_format)
        try:
            self._stream = add_h264_stream(
                self._container,
                codec=codec,
                width=self.width,
                height=self.height,
                fps=self.fps,
                options={"crf": str(int(config.crf)), "preset": FILE_PRESET},
                alpha=self.alpha,
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
        log.info("output: %s (%s)", self.path, encoder_name(codec))

    @classmethod
    def output_paths(cls, options: Options) -> list[str]:
        return [options.path]

    def _open(self, container_format: str):
        try:
            self._lock = OutputLock(self.path)  # before anything is written: one writer
            fd, self.partial_path = partial_beside(self.path)
            os.close(fd)  # ours alone now; PyAV reopens it by name
            return av.open(str(self.partial_path), mode="w", format=container_format)
        except (OSError, av.error.FFmpegError) as exc:
            self._abandon()
            raise DeviceError(
                f"file sink: cannot write {self.path}: {_one_line(exc)}; choose a writable "
                f"path with --set sink.path=..."
            ) from exc

    def _abandon(self) -> None:
        """Close and delete the partial file after a failed start, and let the output go."""
        with contextlib.suppress(av.error.FFmpegError, OSError):
            if self._container is not None:
                self._container.close()
        with contextlib.suppress(OSError):
            if self.partial_path is not None:
                self.partial_path.unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.release()
        self._closed = True

    def abort(self) -> None:
        """The run failed: close and delete the partial file; nothing half-written is left."""
        if not self._closed:
            self._abandon()

    def check_frame(self, image: np.ndarray) -> np.ndarray:
        """(height, width, 3) uint8 RGB, or (height, width, 4) RGBA when `alpha`."""
        if self.alpha and image.shape == (self.height, self.width, 4) and image.dtype == np.uint8:
            return np.ascontiguousarray(image)
        return super().check_frame(image)

    def write(self, image: np.ndarray) -> None:
        """Append one (height, width, 3) uint8 RGB frame, or (height, width, 4) RGBA (straight
        alpha) when `alpha`. A write error (disk full, file too large, device gone) fails here,
        at the first frame that meets it, and removes the partial file."""
        if self._closed:
            raise ReenactError(f"file sink: write to {self.path} after close()")
        image = self.check_frame(image)
        with stop_signals_deferred():  # a stop lands after the count, which then fits the file
            try:
                encode_frame(
                    self._container, self._stream, self._padder.pad(image), self.frames_written
                )
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
        finally:
            if self._lock is not None:
                self._lock.release()
