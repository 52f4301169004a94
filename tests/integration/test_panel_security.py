"""Safe by default: one test per rule of the panel server (issue 17 item 3, issue 20 item 5).

Loopback only; the token on every route; Host (DNS rebinding) and Origin (another site's page)
checks; the cookie's flags; the token from the environment or a file, never in the resolved
config or on the terminal. Upload limits are in test_panel_api.py, bounds in
test_control_bounds.py.
"""

from __future__ import annotations

import http.client
import subprocess
import sys
from pathlib import Path

import pytest

from reenact.config import load_config
from reenact.errors import ConfigError
from reenact.stream.control_server import ControlServer
from reenact.stream.panel_security import TOKEN_ENV, resolve_token
from tests.panel_session import LiveSession

TOKEN = "correct-horse-battery"
ROUTES = [
    ("GET", "/"),
    ("GET", "/output"),
    ("GET", "/status"),
    ("GET", "/settings"),
    ("GET", "/targets"),
    ("GET", "/targets/0/thumb.jpg"),
    ("GET", "/stream/output.mjpg"),
    ("GET", "/stream/camera.mjpg"),
    ("GET", "/static/panel.js"),
    ("POST", "/action/pause"),
    ("POST", "/settings"),
    ("POST", "/targets?name=x.png"),
    ("POST", "/targets/0/select"),
]


@pytest.fixture(scope="module")
def server():
    from reenact.pipeline.factory import build_fuser, build_renderer
    from reenact.stream.controls import Controls
    from reenact.stream.gallery import Gallery
    from reenact.stream.panel import Panel
    from reenact.pipeline.reenactor import Reenactor
    from reenact.pipeline.target import prepare_target
    from reenact.pipeline.timing import StageTimer

    config = load_config(None, ["renderer.kind=warp", "fusion.kind=training_free"])
    target = prepare_target("", config)
    reenactor = Reenactor(
        config=config,
        target=target,
        fuser=build_fuser(config),
        renderer=build_renderer(config),
        timer=StageTimer(),
    )
    controls = Controls(reenactor)
    panel = Panel(controls, Gallery(target, config), preview_fps=15, output_fps=30)
    with ControlServer(panel, port=0, token=TOKEN) as running:
        yield running


def call(server, method, path, *, host=None, headers=None, body=b""):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True)
        connection.putheader("Host", f"127.0.0.1:{server.port}" if host is None else host)
        for key, value in (headers or {}).items():
            connection.putheader(key, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        # a stream never ends: read only its head
        data = (
            b""
            if "mixed-replace" in (response.getheader("Content-Type") or "")
            else response.read()
        )
        return response.status, data, response
    finally:
        connection.close()


def test_listens_on_loopback_only(server):
    assert server.socket.getsockname()[0] == "127.0.0.1"
    assert server.url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_route_needs_the_token(server, method, path):
    assert call(server, method, path)[0] == 401
    assert call(server, method, path, headers={"X-Reenact-Token": "wrong"})[0] == 401
    cookie = f"reenact_token_{server.port}=wrong"
    assert call(server, method, path, headers={"Cookie": cookie})[0] == 401
    sep = "&" if "?" in path else "?"
    assert call(server, method, f"{path}{sep}token=wrong")[0] == 401


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example",
        "attacker.example:{port}",
        "127.0.0.1",
        "127.0.0.1:1",
        "localhost:1",
        "192.168.0.7:{port}",
        "",
    ],
)
def test_foreign_host_is_refused_even_with_the_token(server, host):
    host = host.format(port=server.port)
    code, body, _ = call(server, "GET", "/status", host=host, headers={"X-Reenact-Token": TOKEN})
    assert code in (400, 403), body  # h11 itself refuses an empty Host with 400
    assert (
        call(
            server,
            "GET",
            "/status",
            host=f"localhost:{server.port}",
            headers={"X-Reenact-Token": TOKEN},
        )[0]
        == 200
    )


@pytest.mark.parametrize(
    "origin", ["http://attacker.example", "null", "http://127.0.0.1:1", "https://127.0.0.1:{port}"]
)
def test_state_change_from_another_origin_is_refused(server, origin):
    origin = origin.format(port=server.port)
    headers = {"X-Reenact-Token": TOKEN, "Origin": origin}
    code, body, _ = call(server, "POST", "/action/quit", headers=headers)
    assert code == 403 and b"Origin" in body
    assert server.panel.controls.state.pending == {}  # nothing was queued
    ok = {"X-Reenact-Token": TOKEN, "Origin": f"http://localhost:{server.port}"}
    assert call(server, "POST", "/action/help", headers=ok)[0] == 200
    server.panel.controls.apply_pending()


def test_query_token_sets_a_strict_http_only_cookie_and_leaves_the_address(server):
    code, _, response = call(server, "GET", f"/?token={TOKEN}")
    assert code == 303 and response.getheader("Location") == "/"
    cookie = response.getheader("Set-Cookie")
    assert f"reenact_token_{server.port}={TOKEN}" in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    code, page, response = call(server, "GET", "/", headers={"Cookie": cookie.split(";")[0]})
    assert code == 200 and b"reenact panel" in page
    assert response.getheader("Referrer-Policy") == "no-referrer"  # the token never leaks on
    assert "default-src 'self'" in response.getheader("Content-Security-Policy")


def test_token_comes_from_the_environment_or_a_file(tmp_path, monkeypatch):
    panel = load_config(None, ["panel.token=from-the-config-123"]).panel
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert resolve_token(panel) == ("from-the-config-123", "panel.token")
    token_file = tmp_path / "token"
    token_file.write_text("from-a-token-file-123\n")
    with_file = load_config(None, [f"panel.token_file={token_file}"]).panel
    assert resolve_token(with_file) == ("from-a-token-file-123", str(token_file))
    monkeypatch.setenv(TOKEN_ENV, "from-the-env-123")
    assert resolve_token(with_file) == ("from-the-env-123", TOKEN_ENV)
    monkeypatch.delenv(TOKEN_ENV)
    token_file.write_text("short\n")
    with pytest.raises(ConfigError, match="panel.token_file"):
        resolve_token(with_file)
    missing = load_config(None, [f"panel.token_file={tmp_path / 'none'}"]).panel
    with pytest.raises(ConfigError, match="cannot read"):
        resolve_token(missing)
    assert resolve_token(load_config().panel)[1] == "saved"  # made once, kept (test_obs_link)


def test_environment_token_serves_and_stays_off_the_terminal(tmp_path, clips_dir):
    secret = "env-secret-token-4242"
    live = LiveSession(clips_dir / "lp_d0.mp4", tmp_path, env={TOKEN_ENV: secret})
    try:
        assert f"?token=<token from {TOKEN_ENV}>" in live.stderr  # a placeholder, not the token
        assert live.call("GET", "/status", token=secret)[0] == 200
        assert live.call("GET", "/status", token="wrong-token")[0] == 401
    finally:
        live.close()
    assert secret not in live.stderr


def test_command_line_token_is_never_written_down(tmp_path, clips_dir):
    secret = "cli-secret-token-4242"
    reenact = str(Path(sys.executable).with_name("reenact"))
    done = subprocess.run(
        [
            reenact,
            "live",
            "--source",
            f"video:{clips_dir / 'lp_d0.mp4'}",
            "--sink",
            "null",
            "--renderer",
            "warp",
            "-v",
            "--set",
            f"panel.token={secret}",
            "--set",
            "panel.port=0",
            "--set",
            "stream.max_frames=15",
            "--set",
            f"stream.output_dir={tmp_path / 'out'}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    resolved = (tmp_path / "out" / "live.config.yaml").read_text()
    assert secret not in resolved and "token: <redacted>" in resolved
    assert secret not in done.stderr + done.stdout
    assert "visible to other users" in done.stderr  # and the user is told to prefer the env
