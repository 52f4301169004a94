"""FrameSource / FrameSink protocols and the plugin registry (Python entry points).

Sources live in the entry-point group `reenact.sources`, sinks in `reenact.sinks`. A plugin is
imported only when it is selected. Frames are `(H, W, 3) uint8` RGB arrays (`pixel_format="rgb24"`).

Each plugin owns its options: a frozen dataclass `Options` (its keys in the config's `source` /
`sink` section, e.g. `sink.crf`; see `reenact.config.plugins`). A source is built as
`SourceClass(options: SourceClass.Options)`; a sink as `SinkClass(options, *, width: int,
height: int, fps: float)`. `spec_options(argument)` turns the part after `kind:` of a
`--source` / `--sink` spec into options (default: the path); `suffixes` are the file suffixes a
plugin reads or writes (a bare path picks the plugin by them). Both are context managers whose
`close()` is safe to call twice. A class may define `probe(cls, options) -> str | None`: `None`
when it is usable on this machine, otherwise a one-line reason with what to do about it.

Optional capabilities are declared, never probed for (`BaseSource` / `BaseSink` give the
defaults):

- source `live`: frames keep coming whether or not they are read (a camera): read on a thread.
- source `can_reopen` + `reopen()`: after a failure (a camera unplugged) the loop retries it.
- source `loops`, `frame_count`: for progress bars (0 = unknown).
- sink `realtime`: the loop paces a file source to its fps for it (a camera, a stream, a window).
- sink `preview` + `poll_key()` + `set_overlay_lines()`: a window that shows the output, takes
  hotkeys and draws the live overlay; without one `reenact live` opens a separate preview.
- sink `output_path`: the file it writes, if any (the run's side outputs go beside it); and
  `output_paths(cls, options)`: the files it would write, known before it opens, so a run can
  refuse an output that is one of its inputs, a folder, unwritable or on a full disk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
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
    can_reopen: ClassVar[bool]  # reopen() can bring it back after a failure
    loops: bool  # starts again at its end
    frame_count: int  # frames in the stream when known, else 0
    frames_produced: int
    dropped: int
    label: str  # names the source in messages  # frames dropped as late before being returned (real-time files)

    def read(self) -> Frame | None: ...
    def reopen(self) -> bool: ...
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
    realtime: ClassVar[bool]  # frames are shown or sent as they come: pace file sources
    preview: ClassVar[bool]  # shows frames to the user: poll_key() and set_overlay_lines() work
    output_path: Path | None  # the file written, if any

    def write(self, image: np.ndarray) -> None: ...
    def poll_key(self) -> int | None: ...
    def set_overlay_lines(self, lines: list[str]) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> FrameSink: ...
    def __exit__(self, *exc: object) -> None: ...


@dataclass(frozen=True)
class NoOptions:
    """The options of a plugin that has none."""


class _PluginBase:
    """What sources and sinks share: their options and how a spec or a path selects them."""

    name: ClassVar[str]
    Options: ClassVar[type] = NoOptions
    suffixes: ClassVar[tuple[str, ...]] = ()  # file suffixes it reads / writes ('.mp4')

    @classmethod
    def spec_options(cls, argument: str) -> dict[str, str]:
        """'clip.mp4' of 'video:clip.mp4' -> {'path': 'clip.mp4'}."""
        return {"path": argument}

    @classmethod
    def probe(cls, config: Any = None) -> str | None:
        return None


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


class BaseSource(_PluginBase):
    """Helpers shared by sources: context manager and an idempotent `close()`."""

    name: ClassVar[str] = "source"
    pixel_format: str = PIXEL_FORMAT
    live: bool = False
    can_reopen: ClassVar[bool] = False
    loops: bool = False

    def __init__(self) -> None:
        self.width = 0
        self.height = 0
        self.fps = 0.0
        self.frame_count = 0
        self.dropped = 0
        self.label = self.name  # names the source in messages: a camera's index or device
        self._closed = False
        self._count = 0

    def reopen(self) -> bool:
        """Try to bring a failed source back; True when it works again (see `can_reopen`)."""
        return False

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


class BaseSink(_PluginBase):
    """Helpers shared by sinks: size/format checks, context manager, idempotent `close()`."""

    name: ClassVar[str] = "sink"
    pixel_format: str = PIXEL_FORMAT
    realtime: ClassVar[bool] = False
    preview: ClassVar[bool] = False
    output_path: Path | None = None

    def poll_key(self) -> int | None:
        """The key pressed since the last call (preview sinks), else None."""
        return None

    def set_overlay_lines(self, lines: list[str]) -> None:
        """Text drawn over the shown frames (preview sinks only; never in what is sent)."""

    @classmethod
    def output_paths(cls, options: Any) -> list[str]:
        """The files this sink would write with `options`, checked before a run opens anything
        (`reenact.pipeline.outputs`). None by default."""
        return []

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


def find_preview_sink() -> tuple[str, type] | None:
    """(name, class) of the first installed sink, by name, that declares `preview` and is usable
    here (its `probe` passes); None when there is none (no display)."""
    for name in sorted(entry_points(SINK_GROUP)):
        try:
            cls = load_plugin(SINK_GROUP, name)
        except ReenactError:
            continue
        if getattr(cls, "preview", False) and cls.probe(None) is None:
            return name, cls
    return None


def plugin_for_path(group: str, path: str) -> str:
    """The installed plugin of `group` whose `suffixes` include `path`'s (by name order)."""
    suffix = Path(path).suffix.lower()
    for name in sorted(entry_points(group)):
        try:
            if suffix in load_plugin(group, name).suffixes:
                return name
        except ReenactError:
            continue
    kind = "source" if group == SOURCE_GROUP else "sink"
    raise ReenactError(
        f"{path}: no installed {kind} handles '{suffix or path}' files; "
        f"name one as KIND:{path} (see `reenact plugins`)"
    )
