"""FrameSource / FrameSink protocols and the plugin registry (Python entry points).

Sources live in the entry-point group `reenact.sources`, sinks in `reenact.sinks`. A plugin is
imported only when it is selected. Frames are `(H, W, 3) uint8` RGB arrays (`pixel_format="rgb24"`).

A source is built as `SourceClass(config: SourceConfig)`; a sink as
`SinkClass(config: SinkConfig, *, width: int, height: int, fps: float)`. Both are context managers
whose `close()` is safe to call twice. A class may define `probe(cls, config) -> str | None`:
`None` when it is usable on this machine, otherwise a one-line reason with what to do about it.
A sink that writes files declares them with `output_paths(cls, config) -> list[str]`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import metadata
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from reenact.errors import ReenactError

SOURCE_GROUP = "reenact.sources"
SINK_GROUP = "reenact.sinks"
PIXEL_FORMAT = "rgb24"


@dataclass
class Frame:
    """One captured frame.

    image: (H, W, 3) uint8 RGB, C-contiguous.
    index: 0-based count of frames this source produced.
    timestamp_ns: capture time on the `time.perf_counter_ns()` clock (for latency).
    pts_s: presentation time in the source's own timeline, seconds.
    """

    image: np.ndarray
    index: int
    timestamp_ns: int
    pts_s: float = 0.0


@runtime_checkable
class FrameSource(Protocol):
    """Produces frames until `read()` returns None (end of stream)."""

    name: ClassVar[str]
    width: int
    height: int
    fps: float
    pixel_format: str
    live: bool  # True for cameras: frames keep coming whether or not they are read

    def read(self) -> Frame | None: ...
    def close(self) -> None: ...
    def __enter__(self) -> FrameSource: ...
    def __exit__(self, *exc: object) -> None: ...


@runtime_checkable
class FrameSink(Protocol):
    """Consumes frames of a fixed width, height, fps and pixel format."""

    name: ClassVar[str]
    width: int
    height: int
    fps: float
    pixel_format: str

    def write(self, image: np.ndarray) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> FrameSink: ...
    def __exit__(self, *exc: object) -> None: ...


class BaseSource:
    """Helpers shared by sources: context manager and an idempotent `close()`."""

    name: ClassVar[str] = "source"
    pixel_format: str = PIXEL_FORMAT
    live: bool = False

    def __init__(self) -> None:
        self.width = 0
        self.height = 0
        self.fps = 0.0
        self._closed = False
        self._count = 0

    def _frame(self, image: np.ndarray, pts_s: float | None = None) -> Frame:
        frame = Frame(
            image=image,
            index=self._count,
            timestamp_ns=time.perf_counter_ns(),
            pts_s=self._count / self.fps if pts_s is None and self.fps else (pts_s or 0.0),
        )
        self._count += 1
        return frame

    @property
    def frames_produced(self) -> int:
        """Frames this source has returned from `read()` so far."""
        return self._count

    def _close(self) -> None:
        """Release resources; called at most once."""

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def probe(cls, config: Any = None) -> str | None:
        return None


class BaseSink:
    """Helpers shared by sinks: size/format checks, context manager, idempotent `close()`."""

    name: ClassVar[str] = "sink"
    pixel_format: str = PIXEL_FORMAT

    def __init__(self, *, width: int, height: int, fps: float) -> None:
        if width <= 0 or height <= 0 or fps <= 0:
            raise ReenactError(f"{self.name} sink: invalid frame size {width}x{height} @ {fps} fps")
        self.width = int(width)
        self.height = int(height)
        self.fps = float(fps)
        self._closed = False
        self.frames_written = 0

    def check_frame(self, image: np.ndarray) -> np.ndarray:
        """Validate one frame: (height, width, 3) uint8 RGB. Returns it C-contiguous."""
        if image.shape != (self.height, self.width, 3) or image.dtype != np.uint8:
            raise ReenactError(
                f"{self.name} sink expects ({self.height}, {self.width}, 3) uint8 frames, "
                f"got {image.shape} {image.dtype}"
            )
        return np.ascontiguousarray(image)

    def _close(self) -> None:
        """Flush and release resources; called at most once."""

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()

    @classmethod
    def output_paths(cls, config: Any) -> list[str]:
        """The files this sink would write for `config`, checked before a run opens anything
        (not an input, not a directory, writable, room on the disk). None by default."""
        return []

    def abort(self) -> None:
        """The run failed: release resources and leave no half-written output behind.

        Sinks that write files override this to delete their partial output; the default closes.
        """
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # An error aborts (no partial output); Ctrl-C and normal ends close (a playable file).
        if exc_type is not None and not issubclass(exc_type, KeyboardInterrupt):
            self.abort()
        else:
            self.close()

    @classmethod
    def probe(cls, config: Any = None) -> str | None:
        return None


def entry_points(group: str) -> dict[str, metadata.EntryPoint]:
    """The installed plugins of one group, by name (not imported)."""
    return {ep.name: ep for ep in metadata.entry_points(group=group)}


def load_plugin(group: str, name: str) -> type:
    """Import and return the plugin class `name` of `group`.

    An unknown name is an error that lists the installed ones.
    """
    found = entry_points(group)
    if name not in found:
        kind = "source" if group == SOURCE_GROUP else "sink"
        raise ReenactError(
            f"unknown {kind} '{name}'; installed {kind}s: {', '.join(sorted(found)) or 'none'}"
        )
    try:
        return found[name].load()
    except ImportError as exc:
        raise ReenactError(f"{name}: cannot import plugin {found[name].value}: {exc}") from exc


def parse_spec(spec: str) -> tuple[str, str]:
    """Split 'kind:argument' (e.g. 'video:clip.mp4', 'webcam:0', 'null') into its two parts.

    A Windows drive letter ('C:\\clip.mp4') or a bare path is not mistaken for a kind.
    """
    kind, sep, arg = spec.partition(":")
    if not sep or len(kind) == 1 or "/" in kind or "\\" in kind or "." in kind:
        return "", spec
    return kind, arg
