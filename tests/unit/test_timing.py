"""The stream clock: frame times finite and going forward, a well-timed source left alone."""

from __future__ import annotations

import math

import pytest

from reenact.pipeline.timing import StreamClock

NAN = float("nan")


def run(times: list[float]) -> list[float]:
    clock = StreamClock()
    return [clock(t) for t in times]


def test_well_timed_frames_are_left_alone():
    times = [0.0, 0.033, 0.066, 0.1, 0.1, 2.5, 2.54]  # a repeated time and a pause stay
    assert run(times) == times


def test_a_missing_time_is_the_last_plus_the_last_step():
    out = run([0.0, 0.04, 0.08, NAN, NAN, 0.2, 0.24])
    assert out == pytest.approx([0.0, 0.04, 0.08, 0.12, 0.16, 0.2, 0.24])


def test_a_clock_that_starts_again_carries_on_from_where_it_was():
    out = run([10.0, 10.04, 10.08, 0.0, 0.04, 0.08])
    assert out == pytest.approx([10.0, 10.04, 10.08, 10.12, 10.16, 10.2])


def test_a_source_without_any_time_steps_at_the_default_rate():
    out = run([NAN] * 4)
    assert out == pytest.approx([0.0, 1 / 30, 2 / 30, 3 / 30])
    assert all(math.isfinite(t) for t in out)


def test_a_pause_is_not_taken_as_the_frame_step():
    out = run([0.0, 0.04, 5.0, NAN])
    assert out[-1] == pytest.approx(5.04)
