"""The one video reader: every decoder in reenact (the `video` source, `reenact prepare`,
`reenact eval`, a moving target, a target video's still frame) reads clips through it.

- Rotation: a phone clip's display matrix is applied, so frames come out upright.
- Suffixes: `VIDEO_SUFFIXES`, the files treated as videos everywhere.
- Frame rate: the stream's average rate, else its guessed or base rate, when plausible
  (MIN_FPS..MAX_FPS); else (0, none, 1000) measured from the first packets' timestamps, else
  `DEFAULT_FPS`, with one warning line naming the file: never silently 25.
- Truncation: a file cut short is detected at a partial packet at the end, or a demux/decode
  error; `on_decode_error="error"` raises `InputError("... truncated at frame N")` after the N
  good frames, `"truncate"` ends the stream there (`ended_early` tells). A packet FFmpeg flags
  corrupt with more data after it (a continuity gap in a recorded stream, two files joined) is
  decoded on and counted (`damaged_packets`, one warning line); timestamps that jump back there
  carry on from the last frame's.
- Streams: of several video streams, the one flagged `default` (as players pick), else the
  largest picture, cover art last; one warning line names it and how many there were.
- Special files: a FIFO or device is refused in one line (it can be read only once, and the
  reader opens a file more than once and seeks in it).

Frames are `(H, W, 3) uint8 RGB`, at the displayed size or resized to `size=(width, height)`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

try:
    import av
except ImportError:  # a machine without PyAV (the lent GPU box) can still train from the carry copy
    av = None

from reenact.errors import InputError
from reenact.files import special_kind

log = logging.getLogger(__name__)
DEFAULT_FPS = 25.0  # when a clip's rate is neither stated plausibly nor measurable
MIN_FPS, MAX_FPS = 1.0, 240.0  # plausible rates: time-lapse to high-speed phone video
_PROBE_PACKETS = 48  # packets whose timestamps measure an implausibly stated rate
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"})
DecodeErrorMode = Literal["error", "truncate"]
# display-matrix rotation (degrees counter-clockwise, as PyAV reports it) -> cv2.rotate code
ROTATIONS = {
    0: None,
    90: cv2.ROTATE_90_COUNTERCLOCKWISE,
    -90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    -180: cv2.ROTATE_180,
}


def is_video(path: str | Path) -> bool:
    """Whether `path` names a video file (by its suffix)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def check_regular_file(path: Path, what: str) -> None:
    """One-line InputError when `path` exists but is a FIFO, device or socket."""
    kind = special_kind(path.stat().st_mode)
    if kind is not None:
        raise InputError(
            f"{what} {path} is {kind}, not a regular file; save it to a file "
            f"first (a camera is --source webcam:DEVICE)"
        )


def check_video_file(path: Path) -> None:
    """What the file system alone says (no decoding, so a run checks it before loading models):
    one-line InputError for a missing, directory, special or empty file."""
    if not path.exists():
        raise InputError(f"video not found: {path}; check the path")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a video file")
    check_regular_file(path, "video")
    if path.stat().st_size == 0:
        raise InputError(f"video {path} is empty (0 bytes)")


def _open_container(path: Path) -> av.container.InputContainer:
    check_video_file(path)
    if av is None:
        raise InputError(f"{path}: reading video needs PyAV (pip install av)")
    try:
        return av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(
            f"{path} is not a readable video ({reason}); it may be truncated or not a video file"
        ) from exc


def _preference(stream) -> tuple:
    """Sort key of a video stream: decodable, not cover art, flagged default, largest, first."""
    flags, codec = stream.disposition, stream.codec_context
    return (
        codec is not None,
        not flags & av.stream.Disposition.attached_pic,
        bool(flags & av.stream.Disposition.default),
        codec.width * codec.height if codec is not None else 0,
        -stream.index,
    )


def _video_stream(container, path: Path, *, announce: bool = False) -> av.video.stream.VideoStream:
    """The video stream to read; with `announce`, one warning line when there were several."""
    streams = container.streams.video
    if not streams:
        raise InputError(f"{path} has no video stream; use a video file (mp4, mkv, mov, webm, ...)")
    stream = max(streams, key=_preference)
    if stream.codec_context is None:
        raise InputError(
            f"{path}: unsupported video codec (FFmpeg has no decoder for it); re-encode it to H.264"
        )
    if announce and len(streams) > 1:
        log.warning(
            "video %s has %d video streams; using stream %d (%dx%d %s): the one flagged "
            "default, else the largest",
            path,
            len(streams),
            stream.index,
            stream.width,
            stream.height,
            stream.codec_context.name,
        )
    stream.thread_type = "AUTO"
    return stream


def plausible(rate: float) -> bool:
    return MIN_FPS <= rate <= MAX_FPS


def measured_fps(path: Path, index: int | None = None) -> float:
    """The rate from the median gap between the first packets' timestamps of stream `index`
    (None: the first video stream); 0.0 if unknown."""
    try:
        with av.open(str(path)) as container:
            streams = container.streams
            stream = streams.video[0] if index is None else streams[index]
            times = []
            for packet in container.demux(stream):
                if packet.pts is not None and packet.time_base:
                    times.append(float(packet.pts * packet.time_base))
                if len(times) >= _PROBE_PACKETS:
                    break
    except (av.error.FFmpegError, IndexError):
        return 0.0
    times.sort()
    gaps = sorted(b - a for a, b in zip(times, times[1:]) if b > a)
    return 1.0 / gaps[len(gaps) // 2] if gaps else 0.0


def stream_fps(stream, path: Path) -> float:
    """A video stream's frame rate: the stated one when plausible, else measured from the
    timestamps, else DEFAULT_FPS; one warning line naming `path` when it is not the stated one.
    stream: a PyAV video stream of the file at `path` (or its rates alone: the first)."""
    stated = [float(r) for r in (stream.average_rate, stream.guessed_rate, stream.base_rate) if r]
    for rate in stated:
        if plausible(rate):
            return rate
    said = f"says {stated[0]:g} fps" if stated else "states no frame rate"
    measured = measured_fps(path, getattr(stream, "index", None))
    if plausible(measured):
        log.warning(
            "video %s %s; using %.3g fps measured from its timestamps", path, said, measured
        )
        return measured
    log.warning(
        "video %s %s (plausible: %g..%g); assuming %g fps (set sink.fps=N for the output's rate)",
        path,
        said,
        MIN_FPS,
        MAX_FPS,
        DEFAULT_FPS,
    )
    return DEFAULT_FPS


def _frame_count(stream: av.video.stream.VideoStream, container, fps: float) -> int:
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.time_base:
        return int(round(float(stream.duration * stream.time_base) * fps))
    if container.duration:
        return int(round(container.duration / av.time_base * fps))
    return 0


def _fit(native: tuple[int, int], size: tuple[int, int]) -> tuple[int, int]:
    """The output (width, height): `size`, a 0 side following the native aspect ratio."""
    (native_w, native_h), (width, height) = native, size
    if width and not height:
        height = max(1, round(native_h * width / native_w))
    elif height and not width:
        width = max(1, round(native_w * height / native_h))
    return (width or native_w), (height or native_h)


class VideoReader:
    """Upright RGB frames of one video file, with their presentation times.

    path: the file; on_decode_error: the truncation policy (above); loop: start again at the
    end (times keep increasing); size: (width, height) to resize to, 0 = displayed size.
    Opening decodes the first frame, so a file with no decodable frame fails here.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        on_decode_error: DecodeErrorMode = "error",
        loop: bool = False,
        size: tuple[int, int] = (0, 0),
    ) -> None:
        if on_decode_error not in ("error", "truncate"):
            raise InputError(
                f"on_decode_error must be 'error' or 'truncate', got '{on_decode_error}'"
            )
        if size[0] < 0 or size[1] < 0:
            raise InputError(f"video size must be >= 0, got {size[0]}x{size[1]}")
        self.path, self.loop, self.on_decode_error = Path(path), loop, on_decode_error
        self.ended_early = False  # True once a truncated file was cut short ("truncate")
        self.damaged_packets = 0  # flagged corrupt by FFmpeg but followed by more data: decoded
        self._container = _open_container(self.path)
        try:
            self._stream = _video_stream(self._container, self.path, announce=True)
            self.fps = stream_fps(self._stream, self.path)  # warns when not the stated rate
            self.frame_count = _frame_count(self._stream, self._container, self.fps)
            self._frames = self._decode_forever()
            self._pending = next(self._frames, None)  # zero-frame and unreadable files fail here
            if self._pending is None:
                raise InputError(f"video {self.path} has no decodable frames; use another file")
            self._init_size(self._pending[0], size)
        except BaseException:
            self._container.close()
            raise

    def _init_size(self, first: av.VideoFrame, size: tuple[int, int]) -> None:
        rotation = first.rotation if first.rotation in ROTATIONS else 0
        self._rotate = ROTATIONS[rotation]
        turned = rotation in (90, -90)  # stored sideways
        native = (first.height, first.width) if turned else (first.width, first.height)
        self.native_size = native
        self.width, self.height = _fit(native, size)
        # swscale's output size, before the rotation
        self._decode_size = (self.height, self.width) if turned else (self.width, self.height)
        self._reformatter = av.video.reformatter.VideoReformatter()

    def _break(self, good_frames: int, reason: str) -> None:
        """A partial packet or demux/decode error after `good_frames` frames of this pass."""
        if self.on_decode_error == "error":
            raise InputError(
                f"video {self.path} is truncated at frame {good_frames} ({reason}); "
                f"re-export it, or set source.on_decode_error=truncate to stop there"
            )
        self.ended_early = True

    def _packets(self) -> Iterator[av.Packet | None]:
        """The stream's packets; one flagged corrupt is held until data follows it (then it is
        a gap, decoded on), and None stands for it when the file ends there (a partial packet)."""
        held = None
        for packet in self._container.demux(self._stream):
            if held is not None:
                if not packet.size:
                    continue  # the end of the file right after it: see below
                self._note_damage()
                yield held
                held = None
            if packet.is_corrupt:
                held = packet
            else:
                yield packet
        if held is not None:
            yield None

    def _note_damage(self) -> None:
        self.damaged_packets += 1
        if self.damaged_packets == 1:
            log.warning(
                "video %s has a damaged packet (a gap in a recorded stream, or files "
                "joined end to end); decoding on, a frame or two may show blocks",
                self.path,
            )

    def _decode_pass(self) -> Iterator[av.VideoFrame]:
        """Decoded frames from the current position to the end (or the break) of the file."""
        produced, broken = 0, ""
        try:
            for packet in self._packets():
                if packet is None:
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
                t = frame.time
                if t is None or not math.isfinite(t):  # no pts (a truncated file's last frames)
                    t = (last_s or 0.0) + frame_s
                if last_s is not None and t <= last_s:  # files joined: their clocks restart
                    offset_s += last_s + frame_s - t
                first_s = t if first_s is None else first_s
                last_s = t
                yield frame, offset_s + t - first_s
            if not self.loop or last_s is None:
                return
            offset_s += last_s - first_s + frame_s
            self._container.seek(0)

    def to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """(height, width, 3) uint8 RGB: resized by swscale if asked, then turned upright."""
        width, height = self._decode_size
        # one reformatter per reader keeps swscale's context: ~0.4 ms a 720p frame instead of
        # ~1.4 ms with the context frame.to_ndarray builds and drops every time (same pixels)
        if (frame.width, frame.height) == (width, height):
            image = self._reformatter.reformat(frame, format="rgb24").to_ndarray()
        else:
            shrinking = width * height < frame.width * frame.height
            image = self._reformatter.reformat(
                frame,
                format="rgb24",
                width=width,
                height=height,
                interpolation="AREA" if shrinking else "BILINEAR",
            ).to_ndarray()
        if self._rotate is not None:
            return cv2.rotate(image, self._rotate)
        return np.ascontiguousarray(image)

    def next_frame(self) -> tuple[av.VideoFrame, float] | None:
        """The next decoded (frame, pts_s), not yet converted (`to_rgb`); None at the end."""
        if self._pending is not None:
            item, self._pending = self._pending, None
            return item
        return next(self._frames, None)

    def __iter__(self) -> Iterator[np.ndarray]:
        """The remaining frames as (height, width, 3) uint8 RGB."""
        while (item := self.next_frame()) is not None:
            yield self.to_rgb(item[0])

    def close(self) -> None:
        self._frames.close()
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_frames(path: str | Path, max_frames: int = 0) -> Iterator[np.ndarray]:
    """The clip's first `max_frames` frames (0 = all), upright, as (H,W,3) uint8 RGB."""
    with VideoReader(path) as reader:
        for index, image in enumerate(reader):
            if max_frames and index >= max_frames:
                return
            yield image


def read_frame(path: str | Path, index: int) -> np.ndarray:
    """Frame `index` of a clip, upright, (H,W,3) uint8 RGB; InputError when it has fewer."""
    for i, image in enumerate(read_frames(path, index + 1)):
        if i == index:
            return image
    raise InputError(f"{path}: the video has no frame {index}")


def clip_fps(path: str | Path) -> float:
    """The clip's frame rate; raises InputError naming `path` when it is not a readable video.

    Opening the container is cheap, so callers use this to fail before any long work."""
    container = _open_container(Path(path))
    try:
        return stream_fps(_video_stream(container, Path(path)), Path(path))
    finally:
        container.close()
