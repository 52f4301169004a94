"""The eval's 'J_gen, before rendering' row (`carried_rows.fused_carried`): the fuser's share
of the carried expression, scored on J_gen itself against the driver's live track. It must
read 1 for a fuser that passes the expression whole and fall with one that damps it.

Real landmarks: lp_d9's first 90 frames tracked with the real face mesh (the actor talks)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from reenact.landmarks.clips import TrackedClip
from reenact_lab.eval.carried_rows import fused_carried
from reenact_lab.eval.drive import DriveResult
from tests.helpers import aligned_actor


@pytest.fixture(scope="module")
def talking(clips_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    tracked, neutral = aligned_actor(
        clips_dir / "lp_d9.mp4", frames=90, step=1, size=256, neutral_frames=10
    )
    return np.stack(tracked).astype(np.float32), neutral.astype(np.float32)


def _fused_row(track: np.ndarray, neutral: np.ndarray, drive: DriveResult) -> dict:
    """`fused_carried` of `drive` for lp_d9's live track `track`, J_gen onto the actor's own
    neutral."""
    clip = TrackedClip(
        name="lp_d9",
        path=Path("lp_d9.mp4"),
        fps=25.0,
        landmarks=track,
        landmarks_crop=track,
        crops=np.zeros((len(track), 1, 1, 3), np.uint8),
        valid=np.ones(len(track), bool),
    )
    target = SimpleNamespace(landmarks_crop=neutral, neutral=lambda: neutral)
    return fused_carried(clip, drive, neutral, target, track)


def _scaled(track: np.ndarray, neutral: np.ndarray, scale: float) -> dict:
    """A 'fuser' that passes `scale` of the actor's deviation onto their own neutral."""
    frames = list(range(10, len(track)))
    return _fused_row(
        track,
        neutral,
        DriveResult(
            sampled=frames, sampled_fused=[neutral + scale * (track[f] - neutral) for f in frames]
        ),
    )


def test_the_fused_row_reads_the_fusers_share(talking):
    track, neutral = talking
    whole = _scaled(track, neutral, 1.0)
    assert whole["expression_r"] > 0.99 and abs(whole["expression_gain"] - 1.0) < 0.05, whole
    assert set(whole["expression_detail"]) >= {"mouth_open", "mouth_width"}
    assert "head_r" not in whole  # the roll is composited, not in J_gen
    # a fuser that carries half the expression reads about half; one that carries none, 0
    half = _scaled(track, neutral, 0.5)
    assert abs(half["expression_gain"] - 0.5) < 0.05, half
    assert abs(_scaled(track, neutral, 0.0)["expression_gain"]) < 0.01


def test_no_rendered_frame_gives_no_row(talking):
    track, neutral = talking
    assert _fused_row(track, neutral, DriveResult()) == {}
