"""Test helpers: decode and encode real clips with plain PyAV, independently of the plugins."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def decode_rgb(path: Path) -> list[np.ndarray]:
    """Every frame of a video as (H, W, 3) uint8 RGB, decoded by PyAV."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def write_clip(path: Path, frames: list[np.ndarray], *, fps: int = 30,
               options: dict[str, str] | None = None,
               container_options: dict[str, str] | None = None) -> Path:
    """Encode RGB frames (even sizes) to an H.264 file with PyAV, independently of the sinks."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w", options=container_options or {}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = options or {}
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
