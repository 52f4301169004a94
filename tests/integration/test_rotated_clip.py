"""A phone clip stored sideways with a 90 degree display matrix is upright everywhere a clip is
read: `reenact prepare`, `reenact eval` and a moving target (all through `reenact.video`).

The clip is real: frames of a real talking-head clip, turned a quarter turn as a phone sensor
stores them, encoded by PyAV, with the display matrix a phone writes in the MP4 track header
(`tkhd`), which FFmpeg reports as the frame's rotation.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from reenact.config import load_config
from reenact.landmarks.clips import track_clip
from reenact.pipeline.target_video import TargetVideo
from reenact_lab.train.prepare import prepare
from reenact.video import VideoReader
from tests.helpers import decode_rgb, write_clip

FRAMES = 8
# display matrix (16.16 fixed point; w in 2.30): show the stored picture turned 90 degrees clockwise
TURN_CLOCKWISE = (0, 1 << 16, 0, -(1 << 16), 0, 0, 0, 0, 1 << 30)


def _set_display_matrix(path: Path, matrix: tuple[int, ...]) -> None:
    """Write `matrix` into the (version 0) `tkhd` box of an MP4 written by FFmpeg."""
    data = bytearray(path.read_bytes())
    box = data.find(b"tkhd")
    assert box > 0 and data[box + 4] == 0, "expected one version-0 tkhd box"
    offset = (
        box + 4 + 4 + 5 * 4 + 8 + 4 * 2
    )  # type, version+flags, times/id/duration, reserved, layer..
    data[offset : offset + 36] = struct.pack(">9i", *matrix)
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def clips(clips_dir, tmp_path_factory) -> tuple[Path, Path]:
    """(upright.mp4, sideways.mp4): the same landscape frames, the second stored turned."""
    folder = tmp_path_factory.mktemp("rotated")
    upright = [
        np.ascontiguousarray(f[64:448]) for f in decode_rgb(clips_dir / "lp_d1.mp4")[:FRAMES]
    ]
    sideways = [np.ascontiguousarray(np.rot90(f, 1)) for f in upright]  # 512 x 384
    write_clip(folder / "upright.mp4", upright)
    write_clip(folder / "sideways.mp4", sideways)
    _set_display_matrix(folder / "sideways.mp4", TURN_CLOCKWISE)
    return folder / "upright.mp4", folder / "sideways.mp4"


def test_the_reader_turns_the_frames_upright(clips):
    upright, sideways = clips
    with VideoReader(sideways) as reader:
        assert (reader.width, reader.height) == (512, 384)
        first = next(iter(reader))
    assert np.abs(first.astype(int) - decode_rgb(upright)[0]).mean() < 4


def test_prepare_reads_it_upright(clips, tmp_path):
    upright, sideways = clips
    config = load_config(None, ["renderer.size=128"])
    cached = [
        prepare(
            [str(path)], config, out_dir=tmp_path / path.stem, crops_format="npz", progress=False
        )[0]
        for path in clips
    ]
    assert cached[0].num_frames == cached[1].num_frames == FRAMES
    assert np.abs(cached[0].landmarks - cached[1].landmarks)[..., :2].mean() < 1.0
    assert np.abs(cached[0].load_crops().astype(int) - cached[1].load_crops()).mean() < 6


def test_eval_tracks_it_upright(clips):
    config = load_config(None, ["renderer.size=128"])
    tracked = [track_clip(path, path.stem, config, max_frames=0) for path in clips]
    assert tracked[1].valid.all()
    assert np.abs(tracked[0].landmarks - tracked[1].landmarks)[..., :2].mean() < 1.0


def test_a_moving_target_plays_it_upright(clips):
    config = load_config(None, ["stream.target_max_frames=4"])
    upright, sideways = (TargetVideo(str(path), config) for path in clips)
    assert sideways.first.frame.shape == upright.first.frame.shape == (384, 512, 3)
    assert np.abs(sideways.first.frame.astype(int) - upright.first.frame).mean() < 4
