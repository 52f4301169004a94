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
    config = load_config(
        None,
        [
            "source.kind=video",
            f"source.path={clips_dir / 'lp_d1.mp4'}",
            f"stream.target={marked_target}",
            "stream.target_max_frames=6",
            f"stream.target_end={end}",
            "calibration.neutral_frames=2",
            "renderer.kind=warp",
            "sink.kind=file",
            f"sink.path={out}",
        ],
    )
    report = run_session(config, show_progress=False)
    assert report.loop.frames_out == 16
    shown = [mark(f) for f in decode_rgb(out)]
    if end == "hold":
        assert shown == [0, 1, 2, 3, 4, 5] + [5] * 10
    else:
        assert shown == [0, 1, 2, 3, 4, 5] * 2 + [0, 1, 2, 3]


def test_target_video_as_still(clips_dir, tmp_path):
    config = load_config(
        None,
        [
            "source.kind=video",
            f"source.path={clips_dir / 'lp_d1.mp4'}",
            f"stream.target={clips_dir / 'lp_d2.mp4'}",
            "stream.target_end=still",
            "stream.target_frame=3",
            "renderer.kind=warp",
            "sink.kind=null",
        ],
    )
    report = run_session(config, show_progress=False)
    assert report.loop.frames_out == 16 and report.timer.summary().get("target") is None


def _drive_turned(clips_dir, video: bool) -> float:
    """lp_d2's first frame as the target (a one-frame target video, or the same frame as a
    still), driven by its own neutral face and by that face turned 10 degrees of yaw and nodded
    6 (head motion full, the default): the mean difference of the two outputs, grey levels."""
    from reenact.fusion import build_fuser
    from reenact.pipeline.head_motion import HeadPose, turn_centre
    from reenact.pipeline.reenactor import Reenactor, Tracked
    from reenact.pipeline.target_video import TargetVideo
    from reenact.pipeline.timing import StageTimer
    from reenact.render.warp import WarpRenderer

    config = load_config(
        None,
        [
            f"stream.target={clips_dir / 'lp_d2.mp4'}",
            "stream.target_max_frames=1",
            "stream.target_end=hold",
            "smoothing.enabled=false",
            "renderer.kind=warp",
        ],
    )
    frames = TargetVideo(config.stream.target, config)
    target = frames.targets[0]
    neutral = target.landmarks_crop
    turned = HeadPose(pitch=6.0, yaw=10.0).turn(neutral, turn_centre(neutral)).astype(np.float32)
    reenactor = Reenactor(
        config=config,
        target=target,
        fuser=build_fuser(config),
        renderer=WarpRenderer(size=256),
        timer=StageTimer(),
        target_video=frames if video else None,
        source_neutral=neutral,
    )
    outputs = []
    try:
        for actor in (neutral, turned):
            reenactor.motion.head.reset()  # each pose alone: no smoothing or step limit
            outputs.append(reenactor.process(target.frame, 0.0, Tracked(actor)).output.copy())
    finally:
        reenactor.close()
    return float(np.abs(outputs[0].astype(np.float32) - outputs[1]).mean())


def test_a_target_videos_head_is_its_own(clips_dir):
    """A moving target's head moves as its video does: the actor's nod and turn do not turn its
    face within its outline (they did, while only the whole head's move was left out). A still
    target of the same frame turns: the check can see a turn."""
    video, still = _drive_turned(clips_dir, True), _drive_turned(clips_dir, False)
    assert still > 1.0, still
    assert video < 0.05 * still, (video, still)
