"""`lab.shut_eyes` on a real clip tracked by the real face mesh: it finds the clip's
blinks, and it scores the warp's painted shut lids above both a drawing with no closing eye at all
(the open reference frame, unchanged) and the warp without its lid painter (the eye squashed).

Measured when written (dpe_d, first 120 frames, 12 shut frames): eye-box SSIM warp 0.787,
warp:stretched 0.687, the unchanged reference 0.502.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reenact.config import load_config
from reenact_lab.eval.renderers import IdentityRenderer
from reenact.render.warp import WarpRenderer
from lab.shut_eyes import pick_frames, score_clip

REPO = Path(__file__).resolve().parents[2]


def test_frames_are_picked_by_their_lid_gap_against_an_open_reference():
    gaps = np.full((100, 2), 10.0)
    gaps[3] = [12.0, 12.0]  # wide open: not typical, not the reference
    gaps[[20, 40, 60]] = [2.0, 3.0]  # both under 0.35 of 10: shut
    gaps[[30, 50]] = [5.0, 6.0]  # half
    gaps[70] = [2.0, 9.0]  # a wink: one eye open, neither kind
    gaps[80] = np.nan  # no face
    reference, frames = pick_frames(gaps, per_kind=2)
    assert reference == 0
    assert frames["shut"] == [20, 60]  # two of three, spread
    assert frames["half"] == [30, 50]


@pytest.fixture(scope="module")
def blinking(clips_dir):
    from reenact.landmarks.clips import track_clip

    config = load_config(None)
    return config, track_clip(clips_dir / "dpe_d.mp4", "dpe_d", config, max_frames=120)


def test_the_painted_shut_lids_beat_no_lids_and_no_blink(blinking):
    config, clip = blinking
    size = config.renderer.size
    result = score_clip(
        clip,
        {
            "warp": WarpRenderer(size=size),
            "stretched": WarpRenderer(size=size, keep_eyes=False),
            "unchanged": IdentityRenderer(size=size),
        },
        per_kind=12,
    )
    assert len(result.frames["shut"]) >= 6, result.frames
    shut = {name: float(np.mean(kinds["shut"])) for name, kinds in result.scores.items()}
    assert shut["warp"] > shut["stretched"] + 0.05, shut
    assert shut["warp"] > shut["unchanged"] + 0.05, shut


@pytest.mark.parametrize(
    "flags, named", [(["nobody.mp4"], "nobody.mp4"), (["{clip}", "--renderers", "wrap"], "wrap")]
)
def test_bad_input_is_a_one_line_error(clips_dir, tmp_path, flags, named):
    args = [
        str(tmp_path / f) if f == "nobody.mp4" else f.format(clip=clips_dir / "dpe_d.mp4")
        for f in flags
    ]
    done = subprocess.run(
        [sys.executable, "-m", "lab.shut_eyes", *args],
        capture_output=True,
        cwd=REPO,  # `python -m lab.*` runs from a checkout's root
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and named in done.stderr


def test_one_bad_clip_of_several_is_skipped_and_said(clips_dir, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab.shut_eyes",
            str(tmp_path / "nobody.mp4"),
            str(clips_dir / "dpe_d.mp4"),
            "--frames",
            "60",
            "--renderers",
            "warp",
        ],
        capture_output=True,
        cwd=REPO,  # `python -m lab.*` runs from a checkout's root
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "skipped" in done.stderr and "nobody.mp4" in done.stderr
    assert any(line.startswith("dpe_d ") for line in done.stdout.splitlines()), done.stdout
