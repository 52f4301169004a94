"""Video files through PyAV: any container and codec FFmpeg reads.

Frames come out as `(H, W, 3) uint8 RGB` at the native size, or resized to `config.width` x
`config.height`. `config.loop` seeks back to the start at the end (indices and timestamps keep
counting). A file cut short (a recording that was killed, a partial download) is detected at the
first partial packet or demux/decode error: `config.on_decode_error="error"` then raises
`InputError("... truncated at frame N")` after the N good frames, `"truncate"` ends the stream
there (with loop, the good part loops). Phone videos are turned upright (display-matrix rotation). `config.realtime` paces frames
to the wall clock and drops late ones, like a camera.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from reenact.config.schema import SourceConfig
from reenact.errors import InputError
from reenact.plugin_api import BaseSource, Frame
from reenact.video import stream_fps

DECODE_ERROR_MODES = ("error", "truncate")
# display-matrix rotation (degrees counter-clockwise, as PyAV reports it) -> cv2.rotate code
ROTATIONS = {0: None, 90: cv2.ROTATE_90_COUNTERCLOCKWISE, -90: cv2.ROTATE_90_CLOCKWISE,
             180: cv2.ROTATE_180, -180: cv2.ROTATE_180}


class RealtimePacer:
    """Releases frames at their presentation time on the wall clock; reports late ones.

    `due(pts_s)` sleeps until the frame's time (relative to the first frame) and returns True, or
    returns False at once when the frame is more than `late_s` behind: the caller drops it.
    """

    def __init__(self, *, fps: float) -> None:
        self.late_s = 1.0 / fps if fps > 0 else 0.04
        self._origin_s: float | None = None

    def due(self, pts_s: float) -> bool:
        now = time.perf_counter()
        if self._origin_s is None:
            self._origin_s = now - pts_s
        target = self._origin_s + pts_s
        if now > target + self.late_s:
            return False
        if target > now:
            time.sleep(target - now)
        return True


def _open_container(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise InputError(f"video not found: {path}; check the path")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a video file")
    if path.stat().st_size == 0:
        raise InputError(f"video {path} is empty (0 bytes)")
    try:
        return av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(
            f"{path} is not a readable video ({reason}); it may be truncated or not a video file"
        ) from exc


def _video_stream(container, path: Path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise InputError(f"{path} has no video stream; use a video file (mp4, mkv, mov, webm, ...)")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        raise InputError(
            f"{path}: unsupported video codec (FFmpeg has no decoder for it); re-encode it to H.264"
        )
    stream.thread_type = "AUTO"
    return stream


def _frame_count(stream: av.video.stream.VideoStream, container, fps: float) -> int:
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.time_base:
        return int(round(float(stream.duration * stream.time_base) * fps))
    if container.duration:
        return int(round(container.duration / av.time_base * fps))
    return 0


class VideoSource(BaseSource):
    """Frames of a video file. `frame_count` is the container's estimate (0 if unknown)."""

    name = "video"

    def __init__(self, config: SourceConfig) -> None:
        super().__init__()
        if config.on_decode_error not in DECODE_ERROR_MODES:
            raise InputError(
                f"source.on_decode_error must be one of {', '.join(DECODE_ERROR_MODES)}, "
                f"got '{config.on_decode_error}'"
            )
        if config.width < 0 or config.height < 0:
            raise InputError(f"source.width/height must be >= 0, got {config.width}x{config.height}")
        self.path = Path(config.path)
        self.loop = bool(config.loop)
        self.on_decode_error = config.on_decode_error
        self.live = bool(config.realtime)
        self.ended_early = False  # True once a truncated file was cut short ("truncate" mode)
        self.dropped = 0  # frames dropped as late in real-time mode
        self._container = _open_container(self.path)
        try:
            self._stream = _video_stream(self._container, self.path)
            self.fps = stream_fps(self._stream, self.path)  # warns when not the stated rate
            self.frame_count = _frame_count(self._stream, self._container, self.fps)
            self._frames = self._decode_forever()
            self._pending = next(self._frames, None)  # zero-frame and unreadable files fail here
            if self._pending is None:
                raise InputError(f"video {self.path} has no decodable frames; use another file")
            self._init_size(config, self._pending[0])
        except BaseException:
            self._container.close()
            raise
        self._pacer = RealtimePacer(fps=self.fps) if self.live else None

    def _init_size(self, config: SourceConfig, first: av.VideoFrame) -> None:
        """Output size: the displayed size (rotation applied) or the one asked for, aspect kept
        when only one side is given."""
        rotation = first.rotation if first.rotation in ROTATIONS else 0
        self._rotate = ROTATIONS[rotation]
        native_w, native_h = first.width, first.height
        if rotation in (90, -90):  # stored sideways
            native_w, native_h = native_h, native_w
        width, height = config.width, config.height
        if width and not height:
            height = max(1, round(native_h * width / native_w))
        elif height and not width:
            width = max(1, round(native_w * height / native_h))
        self.native_size = (native_w, native_h)
        self.width, self.height = (width or native_w), (height or native_h)
        # swscale output size, before the rotation
        turned = rotation in (90, -90)
        self._decode_size = (self.height, self.width) if turned else (self.width, self.height)

    def _break(self, good_frames: int, reason: str) -> None:
        """A partial packet or demux/decode error after `good_frames` frames of this pass."""
        if self.on_decode_error == "error":
            raise InputError(
                f"video {self.path} is truncated at frame {good_frames} ({reason}); "
                f"re-export it, or set source.on_decode_error=truncate to stop there"
            )
        self.ended_early = True

    def _decode_pass(self) -> Iterator[av.VideoFrame]:
        """Decoded frames from the current position to the end (or the break) of the file."""
        produced, broken = 0, ""
        try:
            for packet in self._container.demux(self._stream):
                if packet.is_corrupt:
                    broken = "partial packet"
                    break
                for frame in packet.decode():
                    produced += 1
                    yield frame
        except av.error.FFmpegError as exc:
            broken = getattr(exc, "strerror", None) or type(exc).__name__
        if broken:
            try:
                for frame in self._stream.decode(None):  # frames the decoder still holds
                    produced += 1
                    yield frame
            except av.error.FFmpegError:
                pass
            self._break(produced, broken)

    def _decode_forever(self) -> Iterator[tuple[av.VideoFrame, float]]:
        """(frame, pts_s) over all passes; pts_s keeps increasing across loops."""
        offset_s, frame_s = 0.0, 1.0 / self.fps
        while True:
            first_s = last_s = None
            for frame in self._decode_pass():
                t = frame.time if frame.time is not None else (last_s or 0.0) + frame_s
                first_s = t if first_s is None else first_s
                last_s = t
                yield frame, offset_s + t - first_s
            if not self.loop or last_s is None:
                return
            offset_s += last_s - first_s + frame_s
            self._container.seek(0)

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """(height, width, 3) uint8 RGB: resized by swscale if asked, then turned upright."""
        width, height = self._decode_size
        if (frame.width, frame.height) == (width, height):
            image = frame.to_ndarray(format="rgb24")
        else:
            shrinking = width * height < frame.width * frame.height
            image = frame.to_ndarray(format="rgb24", width=width, height=height,
                                     interpolation="AREA" if shrinking else "BILINEAR")
        if self._rotate is not None:
            return cv2.rotate(image, self._rotate)
        return np.ascontiguousarray(image)

    def _next(self) -> tuple[av.VideoFrame, float] | None:
        if self._pending is not None:
            item, self._pending = self._pending, None
            return item
        return next(self._frames, None)

    def read(self) -> Frame | None:
        """The next frame, or None at the end (never with loop=True, unless the file breaks)."""
        if self._closed:
            return None
        while True:
            item = self._next()
            if item is None:
                return None
            frame, pts_s = item
            if self._pacer is None or self._pacer.due(pts_s):
                return self._frame(self._to_rgb(frame), pts_s)
            self.dropped += 1  # late in real-time mode, as a camera would drop it

    def _close(self) -> None:
        self._frames.close()
        self._container.close()
