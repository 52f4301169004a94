"""The control server is bounded (issue 20, item 5), against a real `reenact live` process:

1000 half-sent requests neither create threads nor stop the render loop nor lock out a real
request; a half-sent request is closed after the head timeout; dropped clients leave no
traceback; 400 queued `next_target` actions coalesce and the output keeps flowing.
"""

from __future__ import annotations

import os
import socket
import struct
import time

import pytest

from reenact.stream.control_server import HEAD_TIMEOUT_S, MAX_CONNECTIONS
from tests.panel_session import LiveSession


@pytest.fixture(scope="module")
def session(tmp_path_factory, clips_dir, portraits_dir):
    live = LiveSession(
        clips_dir / "lp_d0.mp4",
        tmp_path_factory.mktemp("bounds"),
        targets=[portraits_dir / "lp_s0.jpg", portraits_dir / "lp_s1.jpg"],
    )
    try:
        live.wait_for(lambda s: s["frames"] > 5)
        yield live
    finally:
        live.close()


def threads_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def half_sent(port: int) -> socket.socket | None:
    """A connection that sends part of a request head and then nothing."""
    sock = socket.socket()
    try:
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Reen".encode())
    except OSError:  # refused or reset by the server: that is the cap working
        sock.close()
        return None
    return sock


@pytest.fixture
def many_sockets():
    """Room for 1000 client sockets in this process (a default soft limit may be 1024)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if wanted < 1100:
        pytest.skip(f"the open-files hard limit ({hard}) leaves no room for 1000 connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_half_sent_requests_neither_make_threads_nor_stall_the_loop(session, many_sockets):
    pid = session.process.pid
    before_threads = threads_of(pid)
    before = session.status()["frames"]
    attackers = [s for s in (half_sent(session.port) for _ in range(1000)) if s is not None]
    try:
        peak = threads_of(pid)
        statuses = []
        for _ in range(3):  # a real request still gets a slot, and the loop keeps going
            time.sleep(1.0)
            statuses.append(session.status())
            peak = max(peak, threads_of(pid))
    finally:
        for sock in attackers:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # dropped with a reset, the rudest way
    assert peak <= before_threads + 8, (before_threads, peak)
    frames = [s["frames"] for s in statuses]
    assert before < frames[0] < frames[1] < frames[2]
    time.sleep(1.0)
    assert session.process.poll() is None
    assert "Traceback" not in session.stderr and "Exception" not in session.stderr
    assert MAX_CONNECTIONS < 1000


def test_half_sent_request_is_closed_after_the_head_timeout(session):
    sock = half_sent(session.port)
    assert sock is not None
    sock.settimeout(HEAD_TIMEOUT_S * 4)
    start = time.monotonic()
    try:
        assert sock.recv(100) == b""  # closed by the server, nothing sent
    finally:
        sock.close()
    assert time.monotonic() - start < HEAD_TIMEOUT_S * 3


def test_dropped_stream_viewer_leaves_no_traceback(session):
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", session.port))
        sock.sendall(
            f"GET /stream/output.mjpg?fps=30 HTTP/1.1\r\nHost: 127.0.0.1:{session.port}"
            f"\r\nX-Reenact-Token: {session.token}\r\n\r\n".encode()
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    for junk in (
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01",
    ):
        with socket.create_connection(("127.0.0.1", session.port)) as sock:
            sock.sendall(junk)
            sock.settimeout(10)
            try:
                sock.recv(4096)
            except OSError:
                pass
    time.sleep(1.0)
    assert session.status()["frames"] > 0
    assert "Traceback" not in session.stderr
    assert "Invalid HTTP" not in session.stderr and "upgrade" not in session.stderr.lower()


def test_a_burst_of_next_target_actions_coalesces(session):
    import http.client

    start = session.status()
    index = next(t["index"] for t in start["targets"] if t["current"])
    connection = http.client.HTTPConnection("127.0.0.1", session.port, timeout=30)
    headers = {"X-Reenact-Token": session.token}
    try:
        for _ in range(400):
            connection.request("POST", "/action/next_target", headers=headers)
            assert connection.getresponse().read() == b'{"ok":true}'
    finally:
        connection.close()
    burst_end = session.status()["frames"]
    after = session.wait_for(lambda s: s["frames"] > burst_end + 10)
    assert after["frames"] > burst_end + 10  # the output kept flowing
    current = next(t["index"] for t in after["targets"] if t["current"])
    assert current == (index + 400) % len(after["targets"])  # one switch by 400 places
