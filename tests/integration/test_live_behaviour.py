"""Defined behaviour for what live sessions throw at the loop: occlusion, several faces in view,
a head turned beyond the tracker's range. (Face leaving and returning: test_pipeline.py.)"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reenact.config import load_config
from reenact.landmarks.tracker import FaceTracker, head_yaw_deg
from reenact.stream.session import run_session
from tests.helpers import decode_rgb, write_clip


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def drive(clip, out, *overrides: str):
    config = load_config(
        None,
        [
            "source.kind=video",
            f"source.path={clip}",
            "sink.kind=file",
            f"sink.path={out}",
            "renderer.kind=warp",
            "calibration.neutral_frames=5",
            *overrides,
        ],
    )
    report = run_session(config, show_progress=False)
    return report, decode_rgb(out)


@pytest.fixture(scope="module")
def actor(clips_dir) -> list[np.ndarray]:
    return decode_rgb(clips_dir / "lp_d0.mp4")[:60]


def test_hand_over_the_mouth_keeps_output_smooth(actor, tmp_path):
    """A skin-coloured, hand-sized blob covers the mouth for 20 frames: tracking goes on (the
    mesh is inferred under it) and the output does not jump."""
    with FaceTracker() as tracker:
        lm = tracker.track_one(actor[0])
    mouth = lm[[61, 291, 0, 17], :2]
    centre = mouth.mean(0).astype(int)
    width = int(np.ptp(mouth[:, 0]) * 1.4)
    skin = actor[0][int(lm[50, 1]), int(lm[50, 0])].tolist()  # the actor's own cheek colour
    frames = [f.copy() for f in actor]
    for i in range(20, 40):
        cv2.ellipse(frames[i], tuple(centre), (width, width // 2), 0, 0, 360, skin, -1)
        frames[i] = cv2.GaussianBlur(frames[i], (1, 1), 0)
    clip = write_clip(tmp_path / "hand.mp4", frames, fps=25)
    report, out = drive(clip, tmp_path / "out.mp4")
    assert report.loop.frames_out == len(frames)
    assert report.frames_with_face >= len(frames) - 2
    steps = [diff(out[i], out[i + 1]) for i in range(len(out) - 1)]
    clean = max(steps[6:18] + steps[42:])
    assert max(steps[19:40]) < 2 * clean + 1.0


def test_several_faces_the_largest_drives(actor, clips_dir, tmp_path):
    """A second, smaller face enters the picture: the output is what the main actor alone gives."""
    other = decode_rgb(clips_dir / "lp_d2.mp4")
    h, w = actor[0].shape[:2]
    crowd = []
    for i, frame in enumerate(actor[:40]):
        canvas = np.zeros((h, w + w // 2, 3), np.uint8)
        canvas[:, :w] = frame
        small = cv2.resize(other[i % len(other)], (w // 2, h // 2))
        canvas[h // 4 : h // 4 + h // 2, w:] = small
        crowd.append(canvas)
    alone = write_clip(
        tmp_path / "alone.mp4",
        [np.pad(f, ((0, 0), (0, w // 2), (0, 0))) for f in actor[:40]],
        fps=25,
    )
    busy = write_clip(tmp_path / "crowd.mp4", crowd, fps=25)
    # head motion off: this is about which face drives the expression; the head's motion would
    # amplify the tracker's small differences between the two canvases into whole-head shifts
    still = "head.motion=off"
    _, out_alone = drive(alone, tmp_path / "a.mp4", still)
    _, out_crowd = drive(busy, tmp_path / "c.mp4", still)
    _, out_other = drive(busy, tmp_path / "o.mp4", still, "tracker.face_index=1")
    same = np.mean([diff(a, b) for a, b in zip(out_alone, out_crowd)])
    chosen_other = np.mean([diff(a, b) for a, b in zip(out_alone, out_other)])
    assert same < 0.5
    assert chosen_other > same  # face_index picks the other face, which drives differently


def test_head_turned_beyond_range_counts_as_face_lost(clips_dir, tmp_path):
    clip = write_clip(
        tmp_path / "turning.mp4", decode_rgb(clips_dir / "tpsmm_driving.mp4")[:60], fps=25
    )
    frames = decode_rgb(clip)  # exactly the pixels the loop will see
    with FaceTracker() as tracker:
        yaws = [abs(head_yaw_deg(lm)) for lm in map(tracker.track_one, frames) if lm is not None]
    limit = float(np.percentile(yaws, 60))
    report, _ = drive(clip, tmp_path / "out.mp4", f"tracker.max_yaw_deg={limit}")
    turned = sum(y > limit for y in yaws)
    assert report.loop.frames_out == len(frames)
    assert abs(report.frames_without_face - turned) <= 3
    wide, _ = drive(clip, tmp_path / "wide.mp4")  # the default range takes every frame
    assert wide.frames_without_face < report.frames_without_face
