"""Hostile network peers and URLs (issue 85, cases 3, 12, 13, 17): a TCP receiver that accepts
and never reads, a stop signal while a write is blocked on it, URLs that are not URLs or name a
protocol this FFmpeg lacks, and a control port someone else holds. Real `reenact` processes, real
sockets on 127.0.0.1, a real SIGTERM; every wait bounded."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reenact.errors import DeviceError
from reenact_plugins.sinks.stream import StreamSink, normalise_url, output_protocols

REENACT = str(Path(sys.executable).with_name("reenact"))
RUN_S = 120  # bound on one whole `reenact` process (model loading included on a busy CPU)
STUCK_S = 0.5  # the sender's send queue unchanged this long: its write is blocked


def _no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr[-3000:]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("reenact: error:")]


def _start(args: list[str], log: Path) -> subprocess.Popen:
    """`reenact ARGS` with its stderr (progress bar included) to `log`: a pipe nobody reads while
    the test waits would block it on its own stderr."""
    with log.open("w") as stderr:
        return subprocess.Popen(
            [REENACT, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
        )


def _finish(process: subprocess.Popen, log: Path, timeout: float) -> tuple[int | None, str]:
    """(exit code, or None if it had to be killed; its stderr), waiting at most `timeout` s."""
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        code = None
    return code, log.read_text(errors="replace")


class StuckReceiver:
    """A TCP listener on 127.0.0.1 that accepts one connection and never reads from it; a tiny
    receive buffer so that the sender's writes block within seconds."""

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.settimeout(0.5)
        self.port = self.listener.getsockname()[1]
        self.connection: socket.socket | None = None

    def accept(self, sender: subprocess.Popen) -> None:
        """Wait (at most RUN_S) for `sender` to connect, unless it exits first."""
        deadline = time.monotonic() + RUN_S
        while self.connection is None and sender.poll() is None and time.monotonic() < deadline:
            try:
                self.connection, _ = self.listener.accept()
            except TimeoutError:
                continue

    def sender_queue(self) -> int:
        """Bytes the sender has written that wait in its kernel send queue (/proc/net/tcp)."""
        sender = f":{self.connection.getpeername()[1]:04X}"
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(sender) and fields[2].endswith(f":{self.port:04X}"):
                return int(fields[4].split(":")[0], 16)
        return 0

    def wait_until_sender_blocked(self, deadline: float) -> bool:
        """True once the sender's send queue is non-empty and unchanged for STUCK_S."""
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            queued = self.sender_queue()
            if queued != last or queued == 0:
                last, since = queued, time.monotonic()
            elif time.monotonic() - since >= STUCK_S:
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        for sock in (self.connection, self.listener):
            if sock is not None:
                sock.close()


def _stream_to(receiver: StuckReceiver, clip: Path, query: str, log: Path) -> subprocess.Popen:
    """`reenact run` of `clip` in a loop (never ends by itself) to the stuck receiver; a high
    bitrate and a small send buffer (FFmpeg's tcp send_buffer_size) fill the pipe quickly."""
    url = f"tcp://127.0.0.1:{receiver.port}?send_buffer_size=65536{query}"
    return _start(
        [
            "run",
            "--source",
            f"video:{clip}",
            "--set",
            "source.loop=true",
            "--renderer",
            "warp",
            "--sink",
            f"stream:{url}",
            "--set",
            "sink.bitrate_kbps=20000",
        ],
        log,
    )


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc/net/tcp (Linux)")
def test_a_receiver_that_stops_reading_ends_the_run_in_one_line(clips_dir, tmp_path) -> None:
    """Case 3: the write times out (2 s once blocked) instead of hanging for good."""
    receiver, log = StuckReceiver(), tmp_path / "stderr.txt"
    process = _stream_to(receiver, clips_dir / "lp_d0.mp4", "", log)
    try:
        receiver.accept(process)
        code, stderr = _finish(process, log, RUN_S)
    finally:
        receiver.close()
    assert code == 2, f"exit {code}: {stderr[-2000:]}"
    _no_traceback(stderr)
    assert _error_lines(stderr) == [
        f"reenact: error: stream sink: the stream receiver at tcp://127.0.0.1:{receiver.port} "
        "stopped reading for 2 s; nothing more can be sent (give it longer with "
        "?timeout=MICROSECONDS in the URL)"
    ]


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc/net/tcp (Linux)")
def test_sigterm_ends_a_run_whose_write_is_blocked(clips_dir: Path, tmp_path: Path) -> None:
    """Case 3: SIGTERM while a write is blocked ends the run, as a SIGTERM does (143, closed
    cleanly), or, when it lands as the write times out, with the one-line error; before, the
    signal was held around a write that never returned and only SIGKILL ended the run."""
    receiver, log = StuckReceiver(), tmp_path / "stderr.txt"
    process = _stream_to(receiver, clips_dir / "lp_d0.mp4", "", log)
    try:
        receiver.accept(process)
        blocked = bool(receiver.connection) and receiver.wait_until_sender_blocked(
            time.monotonic() + RUN_S
        )
        alive = process.poll() is None
        process.send_signal(signal.SIGTERM)
        code, stderr = _finish(process, log, 30)
    finally:
        receiver.close()
    assert blocked and alive, f"the sender never blocked on the receiver: {stderr[-2000:]}"
    assert code in (143, 2), f"exit {code} (None: killed after 30 s): {stderr[-2000:]}"
    _no_traceback(stderr)
    if code == 143:
        assert "reenact: terminated (SIGTERM); output closed cleanly" in stderr
    else:
        assert len(_error_lines(stderr)) == 1


def test_a_broken_ipv6_url_is_one_line() -> None:
    """Case 12: urlsplit's ValueError escaped as a traceback; now the CLI's one-line DeviceError."""
    url = "udp://[::1:23000"
    with pytest.raises(DeviceError) as caught:
        StreamSink(StreamSink.Options(url=url), width=64, height=64, fps=30.0)
    message = str(caught.value)
    assert "\n" not in message and f"bad url '{url}'" in message
    assert "udp://[::1]:23000" in message  # how to write an IPv6 host


def test_a_protocol_this_ffmpeg_lacks_is_refused_naming_what_it_has() -> None:
    """Case 13: srt:// passed the check, then failed with FFmpeg's bare 'Protocol not found'."""
    if "srt" in (output_protocols() or ()):
        pytest.skip("this FFmpeg build has SRT")
    url = "srt://127.0.0.1:23000"
    with pytest.raises(DeviceError) as caught:
        StreamSink(StreamSink.Options(url=url), width=64, height=64, fps=30.0)
    message = str(caught.value)
    assert "\n" not in message and url in message
    assert "no srt protocol" in message and "it has udp, tcp" in message


def test_tcp_urls_get_a_write_timeout_and_keep_the_users() -> None:
    assert normalise_url("tcp://127.0.0.1:9000") == "tcp://127.0.0.1:9000?timeout=2000000"
    assert normalise_url("tcp://127.0.0.1:9000?timeout=10") == "tcp://127.0.0.1:9000?timeout=10"
    assert "timeout" not in normalise_url("udp://127.0.0.1:9000")


def test_a_taken_control_port_is_refused_not_moved(clips_dir: Path, tmp_path: Path) -> None:
    """Case 17: the panel moved to a free port, and whoever held the port then got OBS's
    requests with ?token= in the URL. Now: one line naming the port and the setting."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    log = tmp_path / "stderr.txt"
    try:
        process = _start(
            [
                "live",
                "--source",
                f"video:{clips_dir / 'lp_d0.mp4'}",
                "--sink",
                "null",
                "--renderer",
                "warp",
                "--max-frames",
                "40",
                "--set",
                f"panel.port={port}",
            ],
            log,
        )
        code, stderr = _finish(process, log, RUN_S)
    finally:
        holder.close()
    assert code == 2, f"exit {code}: {stderr[-2000:]}"
    _no_traceback(stderr)
    assert "panel at" not in stderr
    (line,) = _error_lines(stderr)
    assert f"127.0.0.1:{port}" in line and "--set panel.port=N" in line
    assert "0 = any free port" in line
