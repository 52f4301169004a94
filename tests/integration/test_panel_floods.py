"""The panel under floods (issue 85, cases 5, 9 and 14), against a real `reenact live` process.

Uploads are read, decoded and prepared one at a time (a second one at the same time is told
503, never queued), a slow upload is cut off, the same bytes again select the target they made,
the gallery has a cap; MJPEG streams have a cap well below the connection cap, so a flood of
them leaves slots for /status; a request head over 16 KiB is refused even in one piece.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import time
import zlib

import pytest

from reenact.stream.control_server import MAX_CONNECTIONS, MAX_HEAD_BYTES
from reenact.stream.panel_app import MAX_STREAMS, UPLOAD_GRACE_S
from tests.panel_session import LiveSession

GALLERY_CAP = 5  # the default astronaut, the folder's two and two uploads


@pytest.fixture(scope="module")
def session(tmp_path_factory, clips_dir, portraits_dir):
    live = LiveSession(
        clips_dir / "lp_d0.mp4",
        tmp_path_factory.mktemp("floods"),
        targets=[portraits_dir / "lp_s0.jpg", portraits_dir / "lp_s1.jpg"],
        extra=["--set", f"panel.gallery_max_targets={GALLERY_CAP}"],
    )
    try:
        live.wait_for(lambda s: "render" in s.get("stages_ms", {}))
        yield live
    finally:
        live.close()


def send_head(
    session: LiveSession, method: str, path: str, *, extra: str = "", length: int | None = None
) -> socket.socket:
    """A connection that has sent a whole request head (and no body yet)."""
    sock = socket.create_connection(("127.0.0.1", session.port), timeout=10)
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{session.port}\r\n"
        f"X-Reenact-Token: {session.token}\r\n{extra}"
    )
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    sock.sendall((head + "\r\n").encode())
    return sock


def response_head(sock: socket.socket, timeout_s: float = 10.0) -> tuple[int, bytes]:
    """(status, the rest read so far): b"" and 0 when the server closed without answering."""
    sock.settimeout(timeout_s)
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return 0, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), rest


def json_body(sock: socket.socket, rest: bytes) -> dict:
    """The rest of a short JSON response (the server closes or sends it whole)."""
    sock.settimeout(10)
    while True:
        try:
            return json.loads(rest)
        except ValueError:
            chunk = sock.recv(65536)
            if not chunk:
                return json.loads(rest)
            rest += chunk


def reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def png_rgba16(width: int, height: int) -> bytes:
    """A real 16-bit RGBA PNG, all zeros, written row by row (small on disk, huge decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\0" + bytes(width * 8)
    packer = zlib.compressobj(1)  # fast; 1.4 MB for 39 Mpx
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def pngs(session: LiveSession) -> list[str]:
    return sorted(p.name for p in session.targets_dir.iterdir())


# case 14: the README's 16 KiB heads


def test_a_head_over_16_kib_in_one_piece_is_refused(session):
    padding = "X-Padding: " + "a" * (MAX_HEAD_BYTES + 1024) + "\r\n"
    sock = send_head(session, "GET", "/status", extra=padding)
    try:
        code, rest = response_head(sock)
        assert code == 431, (code, rest)
        assert "16 KiB" in json_body(sock, rest)["error"]
    finally:
        sock.close()
    sock = send_head(session, "GET", "/status", extra="X-Padding: " + "a" * 8000 + "\r\n")
    try:
        assert response_head(sock)[0] == 200  # a head within the limit is served
    finally:
        sock.close()
    assert "Traceback" not in session.stderr


# case 9: a flood of one kind leaves slots for the rest


def test_a_stream_flood_leaves_slots_for_status(session):
    before = session.status()["frames"]
    socks = [
        send_head(session, "GET", "/stream/preview.mjpg?fps=1") for _ in range(MAX_CONNECTIONS)
    ]
    try:
        codes = [response_head(s) for s in socks]
        assert [c for c, _ in codes].count(200) == MAX_STREAMS
        refused = [(s, rest) for s, (c, rest) in zip(socks, codes) if c == 503]
        assert len(refused) == MAX_CONNECTIONS - MAX_STREAMS
        message = json_body(*refused[0])["error"]
        assert "streams are open already" in message and "\n" not in message
        for path in ("/status", "/settings", "/targets"):  # served while the streams stay open
            assert session.call("GET", path)[0] == 200
        after = session.wait_for(lambda s: s["frames"] > before + 10)
        assert after["frames"] > before + 10  # the render loop keeps going
    finally:
        for sock in socks:
            reset(sock)
    # every slot comes back when the viewers leave
    deadline = time.monotonic() + 10
    while True:
        socks = [send_head(session, "GET", "/stream/camera.mjpg?fps=1") for _ in range(MAX_STREAMS)]
        try:
            codes = [response_head(s)[0] for s in socks]
        finally:
            for sock in socks:
                reset(sock)
        if codes == [200] * MAX_STREAMS or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert codes == [200] * MAX_STREAMS
    assert "Traceback" not in session.stderr


def test_slow_uploads_take_one_slot_and_are_cut_off(session):
    before = pngs(session)
    socks = [
        send_head(session, "POST", f"/targets?name=slow{i}.png", length=1_000_000)
        for i in range(MAX_CONNECTIONS)
    ]
    try:
        for sock in socks:
            sock.sendall(b"\x89PNG")  # a start, then nothing more: a slow-loris upload
        started = time.monotonic()
        answers = [response_head(s, timeout_s=UPLOAD_GRACE_S + 20) for s in socks]
        codes = [c for c, _ in answers]
        assert codes.count(503) == MAX_CONNECTIONS - 1, codes  # refused at once, not queued
        assert codes.count(408) == 1, codes  # the one reading: cut off by the minimum rate
        assert time.monotonic() - started < UPLOAD_GRACE_S + 15
        busy = next(json_body(s, rest) for s, (c, rest) in zip(socks, answers) if c == 503)
        assert "another upload is in progress" in busy["error"]
        assert session.call("GET", "/status")[0] == 200
    finally:
        for sock in socks:
            reset(sock)
    assert pngs(session) == before
    assert "Traceback" not in session.stderr


def test_a_slow_settings_body_is_cut_off(session):
    sock = send_head(
        session, "POST", "/settings", length=1000, extra="Content-Type: application/json\r\n"
    )
    try:
        sock.sendall(b'{"stream.intensity": ')
        code, rest = response_head(sock, timeout_s=UPLOAD_GRACE_S + 20)
        assert code == 408 and "too slowly" in json_body(sock, rest)["error"]
    finally:
        reset(sock)


# case 5: uploads one at a time, duplicates, the gallery's cap


def test_a_second_upload_waits_for_none_and_the_first_completes(session, portraits_dir):
    data = (portraits_dir / "lp_s2.jpg").read_bytes()
    first = send_head(session, "POST", "/targets?name=first.jpg", length=len(data))
    try:
        first.sendall(data[:1000])
        time.sleep(0.3)  # the first holds the upload slot while its body arrives
        code, body, headers = session.call("POST", "/targets?name=second.jpg", data)
        assert code == 503 and body["error"].startswith("second.jpg: another upload")
        assert headers.get("retry-after") == "1"
        assert answered_while_sending(session, "/targets?name=third.jpg", 8 * len(data)) == 503
        first.sendall(data[1000:])
        code, rest = response_head(first, timeout_s=60)
        assert code == 200, json_body(first, rest)
    finally:
        first.close()
    assert "first.png" in pngs(session) and "second.png" not in pngs(session)


def answered_while_sending(session: LiveSession, path: str, length: int) -> int:
    """The status of an upload answered before its body is sent, then sent whole, as a browser
    does: the server must read (and drop) the rest rather than reset the connection, or the
    client, still writing, gets a broken pipe instead of the answer."""
    sock = send_head(session, "POST", path, length=length)
    try:
        assert select.select([sock], [], [], 10)[0], "no answer before the body"
        time.sleep(0.2)  # the server has answered and closed its side by now
        sock.sendall(bytes(length))  # more than the socket buffers hold
        return response_head(sock)[0]
    finally:
        sock.close()


def test_the_same_bytes_again_select_the_target_they_made(session, portraits_dir):
    data = (portraits_dir / "lp_s2.jpg").read_bytes()  # uploaded above as first.jpg
    before = pngs(session)
    targets = session.status()["targets"]
    code, body, _ = session.call("POST", "/targets?name=again.jpg", data)
    assert code == 200, body
    assert body["targets"][body["index"]]["name"] == "first.png"
    assert len(body["targets"]) == len(targets)  # no new target, no new memory
    assert pngs(session) == before  # no new PNG
    assert session.wait_for(lambda s: s["target"] == "first.png")["target"] == "first.png"


def test_concurrent_huge_uploads_get_no_500(session):
    """Three 39 Mpx 16-bit RGBA PNGs at once (within panel.upload_max_megapixels; 2.1 GB each
    as decoded before): one is read and refused by its decoded bytes before decoding (413), the
    others are told 503 at once; none gets a 500 and the server keeps serving."""
    data = png_rgba16(7800, 5000)
    socks = [
        send_head(session, "POST", f"/targets?name=huge{i}.png", length=len(data)) for i in range(3)
    ]
    try:
        time.sleep(0.3)  # every head in before any body: the first holds the slot
        codes = []
        for sock in socks:
            try:
                sock.sendall(data)
            except OSError:  # refused: the server closed without reading the body
                pass
            codes.append(response_head(sock, timeout_s=120)[0])
    finally:
        for sock in socks:
            sock.close()
    assert sorted(codes) == [413, 503, 503], codes
    assert session.call("GET", "/status")[0] == 200
    assert not any(name.startswith("huge") for name in pngs(session))
    assert "Traceback" not in session.stderr


def test_uploads_past_the_gallery_cap_are_refused(session, portraits_dir):
    names = ["lp_s3.jpg", "lp_s4.jpg", "lp_s5.jpg", "lp_s6.jpg"]
    for name in names:
        count = len(session.status()["targets"])
        code, body, _ = session.call(
            "POST", f"/targets?name={name}", (portraits_dir / name).read_bytes()
        )
        if count < GALLERY_CAP:
            assert code == 200, body
            continue
        before = pngs(session)
        assert code == 409, body
        assert body["error"] == (
            f"{name}: the gallery is full ({GALLERY_CAP} targets; the "
            f"limit is {GALLERY_CAP}, panel.gallery_max_targets)"
        )
        assert pngs(session) == before
        break
    else:
        pytest.fail("the gallery never filled")
