"""`reenact eval` over several clips goes on past a clip whose reference face is too small.

A carphone-sized clip (176x144, the face about 55 px wide) is made from a real clip with PyAV;
the real `reenact eval` runs it beside a normal clip: the small one is skipped with one line
and listed in the report, the other is scored, the run exits 0. With no usable clip (the
small one and one with no face) the run is one error line naming each, and writes no report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from reenact.video import read_frames

REENACT = [sys.executable, "-m", "reenact.cli.main"]
FRAMES = 6
# the fewest frames and measures an eval runs: 2 calibration frames, 6 frames a clip
FAST = (
    "--max-frames",
    str(FRAMES),
    "--no-progress",
    "--set",
    "calibration.neutral_frames=2",
    "--set",
    "eval.still_frames=4",
    "--set",
    "head.motion=off",
    "--set",
    "renderer.threads=1",
    "--set",
    "eval.strip_frames=2",
    "--set",
    f"eval.carried_frames={FRAMES}",
    "--set",
    "eval.carried_retracks=3",
)


def _write_clip(path: Path, frames) -> Path:
    """(H,W,3) uint8 RGB frames -> an H.264 clip at 30 fps, with PyAV."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        for index, image in enumerate(frames):
            if index == 0:
                stream.height, stream.width = image.shape[:2]
                stream.pix_fmt = "yuv420p"
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory, clips_dir: Path) -> Path:
    """lp_d1's first frames shrunk to a 96 px square inside a 176x144 frame (QCIF): the face
    is about 55 px wide."""
    frames = (
        cv2.copyMakeBorder(
            cv2.resize(image, (96, 96), interpolation=cv2.INTER_AREA),
            24,
            24,
            40,
            40,
            cv2.BORDER_REPLICATE,
        )
        for image in read_frames(clips_dir / "lp_d1.mp4", FRAMES)
    )
    return _write_clip(tmp_path_factory.mktemp("small") / "carphone.mp4", frames)


@pytest.fixture(scope="module")
def faceless_clip(tmp_path_factory) -> Path:
    """Six frames of an empty room: grey walls and a window, no one in them."""
    room = np.full((240, 320, 3), 150, np.uint8)
    room[180:] = (110, 90, 70)
    cv2.rectangle(room, (200, 40), (290, 130), (200, 225, 245), -1)
    return _write_clip(
        tmp_path_factory.mktemp("room") / "empty_room.mp4",
        (np.roll(room, shift, axis=1) for shift in range(FRAMES)),
    )


def _eval(clips: list[Path], portrait: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            *REENACT,
            "eval",
            "--clips",
            *map(str, clips),
            "--portraits",
            str(portrait),
            "--out",
            str(out),
            *FAST,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_clip_with_a_small_reference_face_is_skipped_and_the_eval_goes_on(
    small_clip, clips_dir, portraits_dir, tmp_path
):
    out = tmp_path / "report"
    result = _eval([small_clip, clips_dir / "lp_d2.mp4"], portraits_dir / "lp_s42.jpg", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    said = [line for line in result.stderr.splitlines() if "carphone" in line]
    assert len(said) == 1 and "skipped" in said[0] and "minimum 64" in said[0], said
    report = json.loads((out / "report.json").read_text())
    assert list(report["skipped"]) == ["carphone"]
    assert "minimum 64" in report["skipped"]["carphone"]["reason"]
    assert list(report["self_reenactment"]) == ["lp_d2"]  # the other clip is scored
    assert list(report["cross_reenactment"]) == ["lp_d2__lp_s42"]
    assert "Skipped clip carphone" in (out / "report.md").read_text()
    assert "Skipped clip carphone" in result.stdout  # the report's head, printed
    assert "Skipped clip carphone" in (out / "report.html").read_text()


def test_an_eval_with_no_usable_clip_is_one_error_line_naming_each(
    small_clip, faceless_clip, portraits_dir, tmp_path
):
    out = tmp_path / "report"
    result = _eval([small_clip, faceless_clip], portraits_dir / "lp_s42.jpg", out)
    errors = [line for line in result.stderr.splitlines() if line.startswith("reenact: error:")]
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    said = [line for line in result.stderr.splitlines() if "carphone" in line]
    assert len(errors) == 1 and said == errors, said
    assert "carphone" in errors[0] and "minimum 64" in errors[0], errors
    assert "empty_room.mp4: no face found" in errors[0], errors
    assert not (out / "report.json").exists()
