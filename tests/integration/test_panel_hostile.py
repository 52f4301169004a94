"""A hostile user against the panel server (issue 85 cases 10 and 11), over real loopback sockets.

Case 10: a token under 16 characters is refused at start, wherever it comes from; wrong tokens
are logged (one line per interval, never the token) and answered late, so guessing is slow.
Case 11: every malformed body or path gets one JSON error with a 4xx status, never a 500.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reenact.config import load_config
from reenact.errors import ConfigError
from reenact.stream.control_server import ControlServer
from reenact.stream.panel_security import (
    FREE_FAILURES,
    MIN_TOKEN_CHARS,
    TOKEN_ENV,
    Guard,
    resolve_token,
)

TOKEN = "correct-horse-battery-staple"


@pytest.fixture
def server(make_panel):
    with ControlServer(make_panel(), port=0, token=TOKEN) as running:
        yield running


def call(server, method: str, path: str, body: bytes = b"", token: str | None = TOKEN):
    """(status, body) of one request on its own connection."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", f"127.0.0.1:{server.port}")
        if token is not None:
            connection.putheader("X-Reenact-Token", token)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- case 10: weak tokens -------------------------------------------------------------------


def test_short_token_is_refused_wherever_it_comes_from(tmp_path, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    short = load_config(None, ["panel.token=ab"]).panel
    with pytest.raises(
        ConfigError,
        match=r"^panel\.token is 2 characters; use at "
        r"least 16 \(or leave it unset",
    ):
        resolve_token(short)
    token_file = tmp_path / "token"
    token_file.write_text("x" * (MIN_TOKEN_CHARS - 1) + "\n")
    from_file = load_config(None, [f"panel.token_file={token_file}"]).panel
    with pytest.raises(ConfigError, match="first line of .* is 15 characters; use at least 16"):
        resolve_token(from_file)
    token_file.write_bytes(b"\xff\xfe not utf-8 at all, but long enough\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        resolve_token(from_file)
    monkeypatch.setenv(TOKEN_ENV, "ab")
    with pytest.raises(ConfigError, match=f"^{TOKEN_ENV} is 2 characters"):
        resolve_token(load_config().panel)
    with pytest.raises(ValueError, match="use at least 16"):  # the server itself, as an API
        Guard(None, token="s3cret")


def test_generated_token_is_well_above_the_minimum(make_panel, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    kept, source = resolve_token(load_config().panel)
    assert source == "saved" and len(kept) >= 2 * MIN_TOKEN_CHARS
    with ControlServer(make_panel(), port=0) as generated:
        assert len(generated.token) >= 2 * MIN_TOKEN_CHARS


def test_short_environment_token_stops_reenact_live_in_one_line(tmp_path, clips_dir):
    out = tmp_path / "out"
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("reenact")),
            "live",
            "--source",
            f"video:{clips_dir / 'lp_d0.mp4'}",
            "--sink",
            "null",
            "--renderer",
            "warp",
            "--set",
            "panel.port=0",
            "--set",
            f"stream.output_dir={out}",
            "--set",
            "stream.max_frames=10",
        ],  # bounded, should the token be taken
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, TOKEN_ENV: "ab"},
    )
    assert done.returncode != 0
    assert done.stderr.strip() == (
        f"reenact: error: {TOKEN_ENV} is 2 characters; use at least "
        "16 (or leave it unset for a generated one)"
    )
    assert not out.exists()  # refused before the camera opened or anything was written


def test_wrong_tokens_are_logged_once_and_slowed(server, caplog):
    guess = "guessed-token-7a1c"
    caplog.set_level(logging.WARNING, logger="reenact.stream.panel_security")
    for _ in range(FREE_FAILURES):  # a person retyping, a stale tab: answered at once
        assert call(server, "GET", "/status", token=guess)[0] == 401
    with ThreadPoolExecutor(40) as pool:  # a guesser in parallel: answers wait, then 429
        codes = list(pool.map(lambda _: call(server, "GET", "/status", token=guess)[0], range(40)))
    assert set(codes) <= {401, 429} and 429 in codes, codes
    deadline = time.monotonic() + 30  # the right token is served once the held answers end
    while call(server, "GET", "/status")[0] != 200:
        assert time.monotonic() < deadline, "the right token was never served again"
        time.sleep(0.5)
    lines = [r.getMessage() for r in caplog.records if "wrong token" in r.getMessage()]
    assert 1 <= len(lines) <= 3, lines  # one per 10 s, not one per guess (90 guesses)
    assert "127.0.0.1" in lines[0] and "18 characters" in lines[0]
    assert guess not in caplog.text and "7a1c" not in caplog.text


def test_a_missing_token_is_no_guess(server, caplog):
    caplog.set_level(logging.WARNING, logger="reenact.stream.panel_security")
    assert call(server, "GET", "/status", token=None)[0] == 401
    assert "wrong token" not in caplog.text


# --- case 11: malformed bodies and paths ------------------------------------------------------

DIGITS_400, DIGITS_5000 = "9" * 400, "9" * 5000
MALFORMED = [
    # (method, path, body, expected status, a word of the error)
    ("POST", "/settings", b'{"stream.intensity": %s}' % DIGITS_400.encode(), 400, "digits"),
    ("POST", "/settings", b'{"stream.intensity": -%s}' % DIGITS_400.encode(), 400, "digits"),
    ("POST", "/settings", b'{"stream.intensity": %s}' % DIGITS_5000.encode(), 400, "digits"),
    (
        "POST",
        "/settings",
        b'{"stream.intensity": %s.5}' % DIGITS_400.encode(),
        400,
        "stream.intensity",
    ),
    ("POST", "/settings", b"[" * 5000 + b"]" * 5000, 400, "nested"),
    ("POST", "/settings", b'{"a": ' * 5000 + b"1" + b"}" * 5000, 400, "nested"),
    ("POST", "/settings", b'{"stream.intensity": NaN}', 400, "NaN"),
    ("POST", "/settings", b'{"stream.intensity": -Infinity}', 400, "Infinity"),
    ("POST", "/settings", b'{"stream.intensity": 1e400}', 400, "stream.intensity"),
    ("POST", "/settings", b'{"stream.intensity": "0.5"}', 400, "stream.intensity"),
    ("POST", "/settings", b'{"head.motion": {"a": [1]}}', 400, "head.motion"),
    ("POST", "/settings", b'{"smoothing.enabled": 1}', 400, "smoothing.enabled"),
    ("POST", "/settings", b'{"\\ud800": 1}', 400, "not a live setting"),
    ("POST", "/settings", b'{"%s": 1}' % (b"k" * 60000), 400, "not a live setting"),
    ("POST", "/settings", b"\xff\xfe{\x00}\x00", 400, "UTF-8"),
    ("POST", "/settings", b'{"stream.intensity": 0.5', 400, "not JSON"),
    ("POST", "/settings", b"[]", 400, "JSON object"),
    ("POST", "/settings", b"", 400, "JSON object"),
    ("POST", f"/targets/{DIGITS_5000}/select", b"", 404, "no such target"),
    ("GET", f"/targets/{DIGITS_5000}/thumb.jpg", b"", 404, "no such target"),
    ("POST", "/targets/-1/select", b"", 404, "no such target"),
    ("GET", "/targets/-1/thumb.jpg", b"", 404, "no such target"),
    ("POST", "/targets/one/select", b"", 404, "no such target"),
    ("POST", "/targets/%C2%B2/select", b"", 404, "no such target"),  # a Unicode digit
    ("POST", "/targets/7/select", b"", 404, "no such target"),
    ("GET", "/targets/0/select", b"", 405, "Method Not Allowed"),
    ("GET", "/static/%00", b"", 404, "Not Found"),
    ("GET", "/" + "x" * 8000, b"", 404, "Not Found"),
    ("POST", "/action/" + "x" * 200, b"", 400, "unknown action"),
]


def test_malformed_bodies_and_paths_get_one_json_error_never_a_500(server):
    answers = [(case, *call(server, *case[:3])) for case in MALFORMED]
    wrong = [
        (case[:2], case[3], code, body[:120]) for case, code, body in answers if code != case[3]
    ]
    assert not wrong, wrong
    for (method, path, _, _, word), _, body in answers:
        error = json.loads(body)["error"]
        assert word in error and "\n" not in error and len(error) < 1000, (path[:40], error)
    assert server.panel.controls.state.settings == {}  # nothing half-applied
    assert call(server, "GET", "/status")[0] == 200  # and the server still serves
    assert call(server, "GET", "/targets/0/thumb.jpg")[0] == 200
