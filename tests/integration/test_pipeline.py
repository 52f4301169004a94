"""The live pipeline end to end on real clips: frame counts, face loss and recovery, Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from reenact.config import load_config
from reenact.stream.session import run_session
from tests.helpers import ctrl_c_as_default, decode_rgb, write_clip

REENACT = [sys.executable, "-m", "reenact.cli.main"]


def test_run_output_has_the_source_frame_count(clips_dir, tmp_path):
    clip = clips_dir / "lp_d2.mp4"
    out = tmp_path / "out.mp4"
    result = subprocess.run(
        [
            *REENACT,
            "run",
            "--source",
            f"video:{clip}",
            "--sink",
            f"file:{out}",
            "--renderer",
            "warp",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    source, output = decode_rgb(clip), decode_rgb(out)
    assert len(output) == len(source)
    # the output is the target picture (the built-in astronaut), not the source
    assert output[0].shape[:2] == (512, 512)
    # the resolved config and the timings are written beside the output
    assert (tmp_path / "out.config.yaml").is_file() and (tmp_path / "out.timing.json").is_file()
    assert "track" in result.stderr and "fps" in result.stderr  # the stage table


@pytest.fixture(scope="module")
def clip_with_gap(clips_dir, tmp_path_factory) -> tuple[Path, range]:
    """A real clip with the face gone (black frames) for a stretch in the middle."""
    frames = decode_rgb(clips_dir / "lp_d0.mp4")[:90]  # 78 frames
    gap = range(25, 60)
    for i in gap:
        frames[i] = np.zeros_like(frames[i])
    path = tmp_path_factory.mktemp("gap") / "gap.mp4"
    return write_clip(path, frames, fps=25), gap


def test_face_lost_holds_then_fades_to_neutral_and_recovers(clip_with_gap, tmp_path):
    clip, gap = clip_with_gap
    out = tmp_path / "gap_out.mp4"
    config = load_config(
        None,
        [
            "source.kind=video",
            f"source.path={clip}",
            "sink.kind=file",
            f"sink.path={out}",
            "renderer.kind=warp",
            "stream.hold_s=0.2",
            "stream.fade_s=0.4",
            "calibration.neutral_frames=5",
        ],
    )
    report = run_session(config, show_progress=False)
    total = len(decode_rgb(clip))
    assert report.loop.frames_out == total  # the loop kept running through the gap
    assert report.frames_without_face >= len(gap) - 2
    assert report.frames_with_face >= total - len(gap) - 2
    frames = decode_rgb(out)
    neutral = frames[2]  # during calibration the output is the target's neutral
    hold = frames[gap.start + 2]  # 0.08 s into the gap: still the last good output
    end_of_gap = frames[gap.stop - 2]  # 1.5 s in: faded to neutral
    last_good = frames[gap.start - 1]
    diff = lambda a, b: float(np.abs(a.astype(int) - b.astype(int)).mean())
    assert diff(hold, last_good) < 1.5  # held: only codec noise
    assert diff(end_of_gap, neutral) < 1.5  # only codec noise left
    # after the gap the face drives the target again: frames move away from neutral
    after = [diff(frames[i], neutral) for i in range(gap.stop + 3, total)]
    assert max(after) > 3 * diff(end_of_gap, neutral)


@pytest.mark.parametrize(
    ("stop", "code", "said"),
    [
        (signal.SIGINT, 130, "reenact: interrupted; output closed cleanly"),
        (signal.SIGTERM, 143, "reenact: terminated (SIGTERM); output closed cleanly"),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_a_stopped_run_leaves_a_playable_file(clips_dir, tmp_path, stop, code, said):
    """Ctrl-C, or a process manager's SIGTERM (`kill`, `docker stop`), mid-run: the file sink
    closes the file (no partial file left), and the exit code says which signal stopped it.
    Before `reenact.stopping`, a SIGTERM left only `.interrupted.mp4.partial`."""
    out = tmp_path / "interrupted.mp4"
    proc = subprocess.Popen(
        [
            *REENACT,
            "run",
            "--source",
            f"video:{clips_dir / 'lp_d0.mp4'}",
            "--sink",
            f"file:{out}",
            "--renderer",
            "warp",
            "--set",
            "source.loop=true",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_as_default,
    )
    try:
        deadline = time.monotonic() + 120

        def partial():  # a unique `.interrupted.mp4.XXXXXXXX.partial` (reenact.atomic)
            return next(iter(tmp_path.glob(f".{out.name}.*.partial")), None)

        while time.monotonic() < deadline and not (partial() and partial().stat().st_size > 20000):
            time.sleep(0.2)
        assert partial(), "the run never started writing"
        proc.send_signal(stop)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, stderr
    assert said in stderr
    assert "Traceback" not in stderr
    frames = decode_rgb(out)
    assert len(frames) > 0 and frames[0].shape == (512, 512, 3)
    assert not list(tmp_path.glob(".*.partial"))


@pytest.fixture
def track_threads(monkeypatch) -> set[int]:
    """The ids of the threads `Reenactor.track` runs on, filled as the test runs."""
    import threading

    from reenact.pipeline.reenactor import Reenactor

    threads: set[int] = set()
    original = Reenactor.track

    def spy(self, image):
        threads.add(threading.get_ident())
        return original(self, image)

    monkeypatch.setattr(Reenactor, "track", spy)
    return threads


def test_a_file_tracked_ahead_gives_the_same_frames(clips_dir, tmp_path, track_threads):
    """A real clip read as fast as the loop goes (not live): with stream.track_ahead the next
    frame is read and tracked on a second thread (`AheadReader`) while this one renders, and the
    output is frame for frame what the loop gives with tracking in line: every frame, in order,
    none dropped, the same pixels."""
    import hashlib
    import threading

    threads = track_threads

    def frames(track_ahead: str) -> list[str]:
        written: list[str] = []

        def hook(reenactor, sink):
            return lambda output, frame, result: written.append(
                hashlib.sha1(np.ascontiguousarray(output).tobytes()).hexdigest()
            )

        threads.clear()
        config = load_config(
            None,
            [
                "source.kind=video",
                f"source.path={clips_dir / 'lp_d0.mp4'}",
                "sink.kind=null",
                "renderer.kind=warp",
                "calibration.neutral_frames=3",
                "stream.max_frames=30",
                f"stream.track_ahead={track_ahead}",
                f"stream.output_dir={tmp_path}",
            ],
        )
        report = run_session(config, show_progress=False, on_frame=hook)
        assert report.loop.frames_in == report.loop.frames_out == 30
        assert report.loop.dropped == 0
        return written

    in_line = frames("false")
    assert threads == {threading.get_ident()}
    ahead = frames("true")
    assert threading.get_ident() not in threads  # tracked on the read-ahead thread
    assert len(in_line) == 30 and len(set(in_line)) > 10  # the face moves: frames differ
    assert ahead == in_line


def test_a_tracking_error_on_the_read_ahead_thread_reaches_the_loop(
    clips_dir, tmp_path, monkeypatch
):
    """An exception in the next frame's tracking (on the read-ahead thread) ends the run with
    that exception, raised where the loop takes the frame, instead of hanging or being lost."""
    from reenact.pipeline.reenactor import Reenactor

    original, calls = Reenactor.track, []

    def failing(self, image):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("tracker broke on frame 5")
        return original(self, image)

    monkeypatch.setattr(Reenactor, "track", failing)
    config = load_config(
        None,
        [
            "source.kind=video",
            f"source.path={clips_dir / 'lp_d0.mp4'}",
            "sink.kind=null",
            "renderer.kind=warp",
            "stream.track_ahead=true",
            "stream.max_frames=30",
            f"stream.output_dir={tmp_path}",
        ],
    )
    with pytest.raises(RuntimeError, match="frame 5"):
        run_session(config, show_progress=False)


@pytest.mark.parametrize(
    "track_ahead, renderer, ahead",
    [
        ("true", "warp", True),
        ("false", "warp", False),
        ("auto", "warp", True),  # the warp renders in turn: a core is free to track the next frame
        ("auto", "generator", False),  # the CPU generator renders ahead instead
    ],
)
def test_a_clip_played_like_a_camera_is_tracked_ahead_or_in_line(
    clips_dir, tmp_path, track_ahead, renderer, ahead, track_threads
):
    """A real clip paced at its own rate (a live source): with stream.track_ahead (forced, or
    "auto" for a renderer that does not render ahead) the tracker runs on the capture thread,
    without it on the main thread; every frame is delivered or counted as dropped, and every
    delivered frame has the actor's face either way. (Runs on 2+ cores, as CI's machine.)"""
    import threading

    threads = track_threads
    config = load_config(
        None,
        [
            "source.kind=video",
            f"source.path={clips_dir / 'lp_d0.mp4'}",
            "source.realtime=true",
            "source.loop=true",  # a slow host drops frames of the paced clip: it must not run out
            "sink.kind=null",
            f"renderer.kind={renderer}",
            "calibration.neutral_frames=3",
            "stream.max_frames=40",
            f"stream.track_ahead={track_ahead}",
            f"stream.output_dir={tmp_path}",
        ],
    )
    report = run_session(config, show_progress=False)
    loop = report.loop
    assert loop.frames_out == 40
    assert loop.captured == loop.frames_in + loop.dropped
    assert report.frames_with_face == loop.frames_in  # no frame lost its face on the way
    assert len(report.timer.values("track")) == loop.frames_in  # one track time per used frame
    main = threading.get_ident()
    assert (main not in threads) if ahead else (threads == {main})
