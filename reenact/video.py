"""Facts about video files read through PyAV, shared by `reenact prepare` and `reenact eval`."""

from __future__ import annotations

from pathlib import Path

from reenact.errors import InputError

DEFAULT_FPS = 25.0


def clip_fps(path: Path) -> float:
    """The clip's average frame rate (25 when the container does not say).

    Raises InputError naming `path` when it is not a readable video; opening the container is
    cheap, so callers use this to fail before any long work.
    """
    import av  # noqa: PLC0415  (PyAV loads FFmpeg; only when a clip is opened)

    try:
        with av.open(str(path)) as container:
            rate = container.streams.video[0].average_rate
            return float(rate) if rate else DEFAULT_FPS
    except (av.error.FFmpegError, IndexError):
        raise InputError(f"{path}: not a readable video; check the file") from None
