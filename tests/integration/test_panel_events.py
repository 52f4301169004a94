"""GET /events: the status pushed as server-sent events, over real sockets to a real
`reenact live` (a looping clip, the null sink).

The stream says how soon to reconnect, pushes the /status JSON (with where the output goes and
the presets) about twice a second, ends its oldest when a fifth is opened (no client holds more
than four), and says `event: stopped` before it ends with the session.
"""

from __future__ import annotations

import json
import socket
import time

from tests.panel_session import LiveSession

MAX_EVENT_STREAMS = 4


class EventStream:
    """A raw HTTP/1.1 GET /events on its own socket; `read()` returns what came so far."""

    def __init__(self, live: LiveSession) -> None:
        self.sock = socket.create_connection(("127.0.0.1", live.port), timeout=10)
        self.sock.sendall(
            f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
            f"X-Reenact-Token: {live.token}\r\n\r\n".encode()
        )
        self.data = b""
        self.ended = False

    def read(self, seconds: float) -> bytes:
        """Everything received within `seconds` (less when the server closes the stream)."""
        deadline = time.monotonic() + seconds
        while not self.ended and time.monotonic() < deadline:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                break
            self.data += chunk
            self.ended = not chunk or self.data.endswith(b"\r\n0\r\n\r\n")  # the last chunk
        return self.data

    def events(self) -> list[dict]:
        return [
            json.loads(line[6:]) for line in self.data.split(b"\n") if line.startswith(b'data: {"')
        ]

    def close(self) -> None:
        self.sock.close()


def test_events_push_the_status_cap_their_streams_and_say_stopped(tmp_path, clips_dir):
    live = LiveSession(clips_dir / "lp_d0.mp4", tmp_path / "session")
    streams: list[EventStream] = []
    try:
        live.wait_for(lambda s: "render" in s.get("stages_ms", {}))
        first = EventStream(live)
        streams.append(first)
        head = first.read(2.6)
        assert b"200 OK" in head and b"content-type: text/event-stream" in head.lower()
        assert b"\r\nretry: 2000\n\n" in head
        pushed = first.events()
        assert 3 <= len(pushed) <= 8  # about two a second
        assert pushed[-1]["frames"] > pushed[0]["frames"]  # live, not one snapshot repeated
        assert pushed[-1]["output"] == {"kind": "null", "where": ""}
        assert "smile" in pushed[-1]["presets"]["available"]

        streams += [EventStream(live) for _ in range(MAX_EVENT_STREAMS)]
        first.read(5.0)
        assert first.ended  # the oldest gave its place to the newest
        for stream in streams[1:]:
            stream.read(1.5)
            assert not stream.ended and len(stream.events()) >= 1

        code, _, _ = live.call("POST", "/action/quit")
        assert code == 200
        for stream in streams[1:]:
            stream.read(10.0)
            assert stream.ended and b"event: stopped\ndata: {}\n\n" in stream.data
        assert live.process.wait(timeout=30) == 0
    finally:
        for stream in streams:
            stream.close()
        live.close()
