"""StageTimer's CPU time a frame (`reenact bench`'s cpu ms column): the process's CPU time
between the first and the last frame, so a frame that computes counts and one that waits does
not, whatever else the machine runs."""

from __future__ import annotations

import time

from reenact.pipeline.timing import StageTimer


def _busy(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_computing_counts_and_waiting_does_not():
    busy, idle = StageTimer(), StageTimer()
    assert busy.cpu_ms_per_frame() == 0.0  # no frame yet
    for timer, work in ((busy, _busy), (idle, time.sleep)):
        timer.frame_done()
        for _ in range(4):
            work(0.02)
            timer.frame_done()
    assert busy.cpu_ms_per_frame() >= 19.0  # at least its own thread's 20 ms a frame
    assert idle.cpu_ms_per_frame() < 5.0  # asleep 20 ms a frame
