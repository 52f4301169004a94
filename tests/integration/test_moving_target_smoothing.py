"""`smoothing.crop_blend` works on a moving target too: advancing the target video one frame must
not reset the crop blender (only switching to another target does)."""

from __future__ import annotations

import numpy as np

from reenact.config import load_config
from reenact.stream.session import run_session
from tests.helpers import decode_rgb


def _run(clips_dir, out, blend: float) -> list[np.ndarray]:
    config = load_config(
        None,
        [
            "source.kind=video",
            f"source.path={clips_dir / 'lp_d1.mp4'}",
            f"stream.target={clips_dir / 'lp_d2.mp4'}",
            "stream.target_max_frames=8",
            "calibration.neutral_frames=2",
            "stream.max_frames=8",
            "renderer.kind=warp",
            f"smoothing.crop_blend={blend}",
            "sink.kind=file",
            f"sink.path={out}",
        ],
    )
    run_session(config, show_progress=False)
    return decode_rgb(out)


def test_crop_blend_changes_a_moving_targets_output(clips_dir, tmp_path):
    plain = _run(clips_dir, tmp_path / "plain.mp4", 0.0)
    blended = _run(clips_dir, tmp_path / "blended.mp4", 0.8)
    assert len(plain) == len(blended) == 8
    # frames 0-1 calibrate (the target as it is); from frame 3 on the blend carries the past
    diffs = [float(np.abs(a.astype(np.int16) - b).mean()) for a, b in zip(plain[3:], blended[3:])]
    assert min(diffs) > 0.05, diffs
