"""The capture thread: newest frame wins, and `prepare` (tracking ahead) stays with its frame."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from reenact.plugin_api import Frame
from reenact.stream.capture import LatestFrameReader


class CountingCamera:
    """A stand-in live source (no webcam here): frame i is filled with i % 256, every `period_s`."""

    name = "counting"
    live = True
    can_reopen = False  # the FrameSource protocol: a camera that ends stays ended
    fps = 100.0
    width = height = 8

    def __init__(self, frames: int, period_s: float = 0.005) -> None:
        self.frames, self.period_s, self.index = frames, period_s, 0

    def read(self) -> Frame | None:
        if self.index >= self.frames:
            return None
        time.sleep(self.period_s)
        image = np.full((8, 8, 3), self.index % 256, np.uint8)
        self.index += 1
        return Frame(image=image, index=self.index - 1, timestamp_ns=time.perf_counter_ns())


def test_prepare_runs_on_the_capture_thread_and_stays_with_its_frame() -> None:
    threads = set()

    def prepare(image: np.ndarray) -> int:
        threads.add(threading.get_ident())
        time.sleep(0.002)
        return int(image[0, 0, 0])

    reader = LatestFrameReader(CountingCamera(60), prepare=prepare).start()
    taken = []
    try:
        while True:
            frame, value = reader.take(timeout=2.0)
            if frame is None:
                break
            assert value == frame.index % 256  # the value computed from this very frame
            taken.append(frame.index)
            time.sleep(0.012)  # a slow main thread: frames are dropped, never queued
    finally:
        reader.stop()
    assert threads and threading.get_ident() not in threads
    assert taken == sorted(taken) and len(set(taken)) == len(taken)
    assert reader.dropped > 0
    assert reader.captured == 60 == len(taken) + reader.dropped


def test_without_prepare_take_gives_none_and_read_gives_the_frame() -> None:
    reader = LatestFrameReader(CountingCamera(3)).start()
    try:
        frame, value = reader.take(timeout=2.0)
        assert frame is not None and value is None
        assert reader.read(timeout=2.0) is not None
    finally:
        reader.stop()


def test_a_failing_prepare_reaches_the_main_thread() -> None:
    def prepare(image: np.ndarray) -> None:
        raise RuntimeError("tracker crashed")

    reader = LatestFrameReader(CountingCamera(5), prepare=prepare).start()
    try:
        with pytest.raises(RuntimeError, match="tracker crashed"):
            for _ in range(5):
                reader.take(timeout=2.0)
    finally:
        reader.stop()
