"""The step profiler behind `reenact bench --profile`: off, a lap keeps nothing; on, every lap
on every thread is kept under its stage."""

from __future__ import annotations

import threading

import pytest

from reenact.profiling import NO_LAPS, laps, profile


def test_laps_are_the_shared_no_op_while_no_profile_runs():
    lap = laps("warp")
    assert lap is NO_LAPS and laps("composite") is NO_LAPS  # nothing made per frame
    lap("remap")
    lap.skip()
    with profile() as steps:
        pass
    assert steps.summary() == {}


def test_a_profile_keeps_each_lap_from_every_thread_in_the_order_first_seen():
    def worker():
        lap = laps("generator")
        lap("network")

    with profile() as steps:
        lap = laps("warp")
        lap("follow")
        lap.skip()
        lap("remap")
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        laps("warp")("follow")
    assert laps("warp") is NO_LAPS  # off again after the block
    summary = steps.summary()
    assert list(summary) == ["warp.follow", "warp.remap", "generator.network"]
    assert summary["warp.follow"]["count"] == 2 and summary["generator.network"]["count"] == 1
    for v in summary.values():
        assert 0 <= v["median_ms"] <= v["p99_ms"]


def test_one_profile_at_a_time():
    with profile(), pytest.raises(RuntimeError, match="already running"):
        with profile():
            pass
    with profile():  # the refused one left the first one's end intact
        assert laps("x") is not NO_LAPS
