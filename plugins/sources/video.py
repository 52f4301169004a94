"""Video files through the one video reader (`reenact.video`): any container and codec FFmpeg reads.

Frames come out upright (a phone clip's display rotation applied) as `(H, W, 3) uint8 RGB` at the
displayed size, or resized to `source.width` x `source.height`. `source.loop` seeks back to the
start at the end (indices and timestamps keep counting). A file cut short is handled as
`source.on_decode_error` says ("error" or "truncate"; see `reenact.video`). `source.realtime`
paces frames to the wall clock and drops late ones, like a camera.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reenact.config.schema import Count
from reenact.errors import InputError
from reenact.plugin_api import BaseSource, Frame, RealtimePacer
from reenact.video import VIDEO_SUFFIXES, DecodeErrorMode, VideoReader, check_video_file


class VideoSource(BaseSource):
    """Frames of a video file. `frame_count` is the container's estimate (0 if unknown)."""

    name = "video"
    suffixes = tuple(sorted(VIDEO_SUFFIXES))

    @dataclass(frozen=True)
    class Options:
        """`source.path`; `source.loop`; `source.width` / `height` (0 = displayed size, one
        side keeps the aspect); `source.on_decode_error`; `source.realtime`."""

        path: str = ""  # the video file (`video:PATH`)
        loop: bool = False  # seek back to the start at the end, for ever
        width: Count = 0
        height: Count = 0
        on_decode_error: DecodeErrorMode = "error"  # a file cut short: an error, or the end
        realtime: bool = False  # paced to the wall clock, late frames dropped, like a camera

    def __init__(self, config: Options) -> None:
        super().__init__()
        self.path = Path(config.path)
        self.loops = bool(config.loop)
        self.live = bool(config.realtime)
        self._reader = VideoReader(
            self.path,
            on_decode_error=config.on_decode_error,
            loop=self.loops,
            size=(config.width, config.height),
        )
        self.fps, self.frame_count = self._reader.fps, self._reader.frame_count
        self.native_size = self._reader.native_size
        self.width, self.height = self._reader.width, self._reader.height
        self._pacer = RealtimePacer(fps=self.fps) if self.live else None

    @classmethod
    def probe(cls, config: Options | None = None) -> str | None:
        """Why `config.path` cannot be read, from the file system alone (a run asks before it
        loads its models); None when it may be."""
        if config is None:
            return None
        try:
            check_video_file(Path(config.path))
        except InputError as exc:
            return str(exc)
        return None

    @property
    def ended_early(self) -> bool:
        """True once a truncated file was cut short ("truncate" mode)."""
        return self._reader.ended_early

    @property
    def damaged_packets(self) -> int:
        """Packets FFmpeg flagged corrupt that had more data after them, decoded on so far."""
        return self._reader.damaged_packets

    def read(self) -> Frame | None:
        """The next frame, or None at the end (never with loop=True, unless the file breaks)."""
        if self._closed:
            return None
        while True:
            item = self._reader.next_frame()
            if item is None:
                return None
            frame, pts_s = item
            if self._pacer is None or self._pacer.due(pts_s):
                return self._frame(self._reader.to_rgb(frame), pts_s)
            self.dropped += 1  # late in real-time mode, as a camera would drop it

    def _close(self) -> None:
        self._reader.close()
