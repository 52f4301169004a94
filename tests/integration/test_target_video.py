"""A moving target: a target video plays under the actor's expression, looping or holding."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.config import load_config
from reenact.stream.session import run_session
from tests.helpers import decode_rgb, write_clip

MARK = slice(0, 24)  # top rows of each target frame carry its index as a grey level


@pytest.fixture(scope="module")
def marked_target(clips_dir, tmp_path_factory):
    """A real talking-head clip whose frames are numbered by the grey level of their top rows."""
    frames = decode_rgb(clips_dir / "lp_d2.mp4")[:6]
    for i, frame in enumerate(frames):
        frame[MARK] = 30 + 40 * i
    return write_clip(tmp_path_factory.mktemp("target") / "marked.mp4", frames, fps=30)


def mark(frame: np.ndarray) -> int:
    """Which target frame an output frame shows, from its top rows."""
    return int(round((float(frame[4:20, 10:-10].mean()) - 30) / 40))


@pytest.mark.parametrize("end", ["loop", "hold"])
def test_target_video_loops_or_holds(clips_dir, tmp_path, end, marked_target):
    out = tmp_path / f"{end}.mp4"
    config = load_config(None, [
        "source.kind=video", f"source.path={clips_dir / 'lp_d1.mp4'}",
        f"stream.target={marked_target}", "stream.target_max_frames=6",
        f"stream.target_end={end}", "stream.neutral_frames=2", "renderer.kind=warp",
        "sink.kind=file", f"sink.path={out}",
    ])
    report = run_session(config, show_progress=False)
    assert report.loop.frames_out == 16
    shown = [mark(f) for f in decode_rgb(out)]
    if end == "hold":
        assert shown == [0, 1, 2, 3, 4, 5] + [5] * 10
    else:
        assert shown == [0, 1, 2, 3, 4, 5] * 2 + [0, 1, 2, 3]


def test_target_video_as_still(clips_dir, tmp_path):
    config = load_config(None, [
        "source.kind=video", f"source.path={clips_dir / 'lp_d1.mp4'}",
        f"stream.target={clips_dir / 'lp_d2.mp4'}", "stream.target_end=still",
        "stream.target_frame=3", "renderer.kind=warp", "sink.kind=null",
    ])
    report = run_session(config, show_progress=False)
    assert report.loop.frames_out == 16 and report.timer.summary().get("target") is None
