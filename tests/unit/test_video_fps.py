"""The frame rate of a clip: the stated one when plausible, else measured or assumed, said once."""

from __future__ import annotations

import logging
from fractions import Fraction
from types import SimpleNamespace

import pytest

from reenact.video import DEFAULT_FPS, clip_fps, stream_fps


def stated(*rates) -> SimpleNamespace:
    """A stream whose header states `rates` (average, guessed, base; None = not stated)."""
    average, guessed, base = (list(rates) + [None, None, None])[:3]
    return SimpleNamespace(average_rate=average, guessed_rate=guessed, base_rate=base)


def test_a_plausible_stated_rate_is_used_silently(clips_dir, caplog):
    with caplog.at_level(logging.WARNING):
        assert clip_fps(clips_dir / "lp_d1.mp4") == pytest.approx(30.0)
    assert not caplog.records


@pytest.mark.parametrize("header", [stated(Fraction(1000), Fraction(1000)), stated(0), stated()])
def test_an_absurd_rate_is_measured_from_the_timestamps(clips_dir, caplog, header):
    clip = clips_dir / "lp_d0.mp4"  # 25 fps
    with caplog.at_level(logging.WARNING):
        assert stream_fps(header, clip) == pytest.approx(25.0, rel=0.01)
    (record,) = caplog.records
    assert (
        str(clip) in record.getMessage() and "measured from its timestamps" in record.getMessage()
    )


def test_no_usable_timestamps_assume_the_default_and_say_so(tmp_path, caplog):
    not_a_clip = tmp_path / "noise.mp4"
    not_a_clip.write_bytes(b"\x00" * 64)
    with caplog.at_level(logging.WARNING):
        assert stream_fps(stated(Fraction(1000)), not_a_clip) == DEFAULT_FPS
    (record,) = caplog.records
    assert "says 1000 fps" in record.getMessage() and "assuming 25 fps" in record.getMessage()
