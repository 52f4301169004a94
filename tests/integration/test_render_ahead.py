"""Render ahead (`stream.render_ahead`): the generator's network of one frame runs on a worker
thread while the next frame is tracked; the frames that come out must be the serial loop's, in
order, none lost, each with its own capture time. Real clips, the real tracker, the shipped
generator on ONNX Runtime."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from reenact.config import load_config
from reenact.pipeline.render_ahead import FrameJob, RenderWorker
from reenact.render import build_renderer
from reenact.stream.session import run_session
from tests.helpers import decode_rgb, write_clip


def _config(clip, *overrides: str):
    return load_config(
        None,
        [
            "source.kind=video",
            f"source.path={clip}",
            "sink.kind=null",
            "renderer.kind=generator",
            "renderer.backend=onnx",
            "calibration.neutral_frames=3",
            "calibration.neutral_window=3",
            *overrides,
        ],
    )


def _run(config):
    """Run a session; returns (report, [(frame index or None, output copy)], network threads)."""
    renderer = build_renderer(config)
    threads: list[str] = []
    run = renderer.backend.run

    def recorded(x):
        threads.append(threading.current_thread().name)
        return run(x)

    renderer.backend.run = recorded
    outputs: list[tuple[int | None, np.ndarray]] = []

    flags: list[bool] = []

    def on_frame(reenactor, _sink):
        flags.append(reenactor.render_ahead)  # what the panel's /status shows

        def hook(output, frame, _result):
            outputs.append((None if frame is None else frame.index, output.copy()))

        return hook

    report = run_session(config, show_progress=False, on_frame=on_frame, renderer=renderer)
    assert flags == [config.stream.render_ahead == "on"]
    return report, outputs, threads


@pytest.fixture(scope="module")
def gap_clip(clips_dir, tmp_path_factory):
    """lp_d0's first 40 frames with the face gone (black) for frames 20-27: frames with nothing
    to render come between frames whose network runs on the worker."""
    frames = decode_rgb(clips_dir / "lp_d0.mp4")[:40]
    for i in range(20, 28):
        frames[i] = np.zeros_like(frames[i])
    return write_clip(tmp_path_factory.mktemp("ahead") / "gap.mp4", frames, fps=25)


def test_render_ahead_gives_the_serial_frames_in_order(gap_clip):
    serial, serial_out, serial_threads = _run(_config(gap_clip, "stream.render_ahead=off"))
    ahead, ahead_out, ahead_threads = _run(_config(gap_clip, "stream.render_ahead=on"))
    # every frame written once, in the source's order, with nothing held back at the end
    assert ahead.loop.frames_out == ahead.loop.frames_in == serial.loop.frames_out == 40
    assert [i for i, _ in ahead_out] == [i for i, _ in serial_out] == list(range(40))
    assert ahead.frames_without_face == serial.frames_without_face >= 7
    # the network ran on the worker, not on the loop's thread
    assert ahead_threads and all(name.startswith("reenact-render") for name in ahead_threads)
    assert serial_threads and not any(name.startswith("reenact-render") for name in serial_threads)
    # the same pictures (ONNX Runtime on one or another thread: at most a level's rounding)
    worst = max(
        float(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())
        for (_, a), (_, b) in zip(ahead_out, serial_out)
    )
    assert worst <= 2.0
    moving = np.abs(ahead_out[10][1].astype(np.int16) - ahead_out[5][1].astype(np.int16)).mean()
    assert moving > 0.05  # the outputs are rendered frames, not one frame repeated


def test_render_ahead_on_a_live_source_sends_each_frame_with_its_own_delay(clips_dir):
    config = _config(
        clips_dir / "lp_d0.mp4",
        "stream.render_ahead=on",
        "source.realtime=true",
        "source.loop=true",  # a slow host drops frames of the paced clip: it must not run out
        "stream.max_frames=45",
    )
    report, outputs, threads = _run(config)
    indices = [i for i, _ in outputs]
    assert report.loop.frames_out == 45 == len(indices)
    assert indices == sorted(indices) and len(set(indices)) == 45  # in order, none twice
    assert len(report.loop.latency_ms) == 45
    # a frame's delay is its own: at least the network's time, and the paced clip (25 fps) is
    # never queued behind (the newest frame wins)
    latency = np.array(report.loop.latency_ms)
    assert np.median(latency) < 1000.0
    assert threads and all(name.startswith("reenact-render") for name in threads)


def test_a_failing_network_on_the_worker_ends_the_run_with_its_error(clips_dir):
    config = _config(clips_dir / "lp_d0.mp4", "stream.render_ahead=on", "stream.max_frames=20")
    renderer = build_renderer(config)

    def broken(_x):
        raise RuntimeError("network failed on purpose")

    renderer.backend.run = broken
    with pytest.raises(RuntimeError, match="on purpose"):
        run_session(config, show_progress=False, renderer=renderer)


def test_frame_job_runs_inline_without_a_worker_and_reports_its_network_time():
    crop = np.full((4, 4, 3), 7, np.uint8)
    job = FrameJob(0.0, run=lambda: crop, finish=lambda c, ms: (c, ms))
    assert job.in_flight and job.done  # nothing launched yet: nothing is running
    result, ms = job.complete()
    assert result is crop and ms >= 0.0 and not job.in_flight
    worker = RenderWorker()
    try:
        started, release = threading.Event(), threading.Event()

        def slow():
            started.set()
            release.wait(5)
            return crop

        job = FrameJob(0.0, run=slow, finish=lambda c, ms: c)
        job.launch(worker)
        started.wait(5)
        woke = threading.Event()
        job.when_done(woke.set)
        assert not job.done and not woke.is_set()
        release.set()
        job.wait()
        assert job.done and woke.wait(5)
        assert job.complete() is crop
    finally:
        worker.close()


def test_a_staged_frame_keeps_its_target_when_the_target_switches_before_it_runs(portraits_dir):
    """The live loop stages frame N, then may switch targets (a click in the panel, a moving
    target's next frame) before frame N's call runs on the worker: frame N is still the old
    target's, warp included, and the next frame is the new one's."""
    from reenact.pipeline.target import prepare_target

    config = _config(portraits_dir / "lp_s0.jpg")
    first = prepare_target(str(portraits_dir / "lp_s42.jpg"), config)
    second = prepare_target(str(portraits_dir / "sadtalker_people_0.png"), config)
    fused = first.landmarks_crop.copy()
    fused[13:15, 1] += [-3.0, 3.0]  # the mouth a little open: the warp has work to do

    alone = build_renderer(config)
    alone.set_target(first.crop, first.landmarks_crop)
    expected = alone.render(fused).copy()

    switching = build_renderer(config)
    switching.set_target(first.crop, first.landmarks_crop)
    run = switching.stage(fused)
    switching.set_target(second.crop, second.landmarks_crop)
    assert np.array_equal(run(), expected)
    alone.set_target(second.crop, second.landmarks_crop)
    assert np.array_equal(switching.render(fused), alone.render(fused))


def test_the_landmarks_shown_are_the_sent_frames_not_the_newest(clips_dir):
    """Rendering ahead, frame N+1 is tracked before frame N is sent: the landmarks the panel
    draws on frame N's camera image (`shown_landmarks`) must still be frame N's."""
    from reenact.landmarks.tracker import FaceTracker
    from reenact.pipeline.factory import build_reenactor
    from reenact.pipeline.timing import StageTimer

    frames = decode_rgb(clips_dir / "hdtf_aoc.mp4")[:96:12]  # a head that moves between them
    reenactor = build_reenactor(_config(clips_dir / "hdtf_aoc.mp4"), timer=StageTimer())
    worker = RenderWorker()
    try:
        previous = None
        shown = []
        for index, image in enumerate(frames):
            job = reenactor.begin(image, index / 25.0, None)
            if previous is not None:
                previous.wait()
            job.launch(worker)
            if previous is not None:
                reenactor.finish(previous)
                shown.append(reenactor.shown_landmarks)
            previous = job
        reenactor.finish(previous)
        shown.append(reenactor.shown_landmarks)
    finally:
        worker.close()
        reenactor.close()
    with FaceTracker() as tracker:
        tracked = [tracker.track_one(image) for image in frames]
    assert len(shown) == len(frames)

    def gap(a, b):
        return float(np.abs(a[:, :2] - b[:, :2]).mean())

    for i, mine in enumerate(shown[:-1]):  # this frame's landmarks, not the next frame's
        assert gap(mine, tracked[i]) < 0.5 * gap(mine, tracked[i + 1]), i
