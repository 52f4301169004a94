"""Facts about video files read through PyAV, shared by the video source, `reenact prepare` and
`reenact eval`.

The frame rate: a container's stated rate is used when it is plausible (MIN_FPS..MAX_FPS). When it
is not (0, missing, or absurd like 1000), the rate is measured from the first packets'
timestamps; when that fails too, DEFAULT_FPS is assumed. Either way one warning line says which
rate is used and why: a clip is never silently played at 25 fps.
"""

from __future__ import annotations

import logging
from pathlib import Path

from reenact.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_FPS = 25.0
MIN_FPS, MAX_FPS = 1.0, 240.0  # plausible rates: time-lapse to high-speed phone video
_PROBE_PACKETS = 48  # packets whose timestamps measure the rate


def plausible(rate: float) -> bool:
    return MIN_FPS <= rate <= MAX_FPS


def measured_fps(path: Path) -> float:
    """The rate from the median gap between the first packets' timestamps (0.0 if unknown)."""
    import av  # noqa: PLC0415

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            times = []
            for packet in container.demux(stream):
                if packet.pts is not None and packet.time_base:
                    times.append(float(packet.pts * packet.time_base))
                if len(times) >= _PROBE_PACKETS:
                    break
    except (av.error.FFmpegError, IndexError):
        return 0.0
    gaps = sorted(b - a for a, b in zip(sorted(times), sorted(times)[1:]) if b > a)
    return 1.0 / gaps[len(gaps) // 2] if gaps else 0.0


def stream_fps(stream, path: Path) -> float:
    """A video stream's frame rate (see the module docstring); warns when it is not the stated
    one. stream: a PyAV video stream of the file at `path`."""
    stated = [float(r) for r in (stream.average_rate, stream.guessed_rate, stream.base_rate) if r]
    for rate in stated:
        if plausible(rate):
            return rate
    said = f"says {stated[0]:g} fps" if stated else "states no frame rate"
    measured = measured_fps(path)
    if plausible(measured):
        log.warning("video %s %s; using %.3g fps measured from its timestamps",
                    path, said, measured)
        return measured
    log.warning("video %s %s (plausible: %g..%g); assuming %g fps (set sink.fps=N for the "
                "output's rate)", path, said, MIN_FPS, MAX_FPS, DEFAULT_FPS)
    return DEFAULT_FPS


def clip_fps(path: Path) -> float:
    """The clip's frame rate, as `stream_fps` decides it.

    Raises InputError naming `path` when it is not a readable video; opening the container is
    cheap, so callers use this to fail before any long work.
    """
    import av  # noqa: PLC0415  (PyAV loads FFmpeg; only when a clip is opened)

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return stream_fps(stream, Path(path))
    except (av.error.FFmpegError, IndexError):
        raise InputError(f"{path}: not a readable video; check the file") from None
