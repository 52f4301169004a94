"""A stable OBS link (issue 90, build 2): the control token is made once and kept in the user's
config folder (mode 0600), so two `reenact live` runs print the same OBS address; the panel
gives the link (`GET /obs`) and a new token (`POST /obs/token`) that replaces the kept one at
once. The Browser Source reconnecting across a restart is in tests/browser/test_obs_restart.py.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from reenact.config import load_config
from reenact.errors import ConfigError
from reenact.stream.control_server import ControlServer, PortTaken, print_address
from reenact.stream.panel_security import SAVED, TOKEN_ENV, ControlToken, resolve_token
from tests.helpers import free_tcp_port

REENACT = str(Path(sys.executable).with_name("reenact"))


@pytest.fixture(autouse=True)
def _no_token_in_the_environment(monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)


def call(port: int, method: str, path: str, token: str) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(
            method, path, body=b"", headers={"Host": f"127.0.0.1:{port}", "X-Reenact-Token": token}
        )
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}, dict(response.getheaders())
    finally:
        connection.close()


def test_token_is_made_once_kept_private_and_used_again(user_config_dir):
    token, source = resolve_token(load_config().panel)
    kept = user_config_dir / "control_token"
    assert source == SAVED and len(token) >= 32
    assert kept.read_text().splitlines() == [token]
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert resolve_token(load_config().panel) == (token, SAVED)
    given = load_config(None, ["panel.token=given-on-the-command-line"]).panel
    assert resolve_token(given) == ("given-on-the-command-line", "panel.token")
    assert kept.read_text().splitlines() == [token]  # a given token leaves the kept one alone


def test_a_damaged_or_unwritable_kept_token_is_one_line(user_config_dir, monkeypatch):
    (user_config_dir / "control_token").write_text("short\n")
    with pytest.raises(
        ConfigError,
        match=r"control_token is 5 characters; use at least 16 "
        r"\(or delete the file for a new token\)$",
    ):
        resolve_token(load_config().panel)
    not_a_folder = user_config_dir / "a-file"
    not_a_folder.write_text("x")
    monkeypatch.setenv("REENACT_CONFIG_DIR", str(not_a_folder))
    with pytest.raises(
        ConfigError,
        match=r"^control token: cannot keep it in .*a-file/"
        r"control_token \(.*a-file is not a folder\)",
    ):
        resolve_token(load_config().panel)
    assert not_a_folder.read_text() == "x"


def test_a_damaged_kept_token_stops_reenact_live_in_one_line(tmp_path, user_config_dir, clips_dir):
    (user_config_dir / "control_token").write_text("\n")
    done = subprocess.run(
        [
            REENACT,
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
            f"stream.output_dir={tmp_path / 'out'}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("reenact: error:")]
    assert len(errors) == 1 and "control_token is 0 characters" in errors[0], done.stderr


def test_two_live_runs_print_the_same_obs_address(tmp_path, user_config_dir, clips_dir):
    port = free_tcp_port()
    printed = []
    for run in range(2):
        done = subprocess.run(
            [
                REENACT,
                "live",
                "--source",
                f"video:{clips_dir / 'lp_d0.mp4'}",
                "--sink",
                "null",
                "--renderer",
                "warp",
                "--set",
                f"panel.port={port}",
                "--set",
                "stream.max_frames=5",
                "--set",
                f"stream.output_dir={tmp_path / 'out'}",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        printed.append([line for line in done.stderr.splitlines() if "OBS Browser Source" in line])
    token = (user_config_dir / "control_token").read_text().strip()
    assert (
        printed[0]
        == printed[1]
        == [f"reenact: OBS Browser Source: http://127.0.0.1:{port}/output?token={token}"]
    )


def test_panel_gives_the_obs_link_and_a_new_token_at_once(make_panel, user_config_dir):
    token, source = resolve_token(load_config().panel)
    with ControlServer(make_panel(), port=0, token=ControlToken(token, source)) as server:
        port = server.port
        assert call(port, "GET", "/obs", token)[:2] == (
            200,
            {"url": f"http://127.0.0.1:{port}/output?token={token}"},
        )
        code, body, headers = call(port, "POST", "/obs/token", token)
        assert code == 200, body
        new = body["url"].removeprefix(f"http://127.0.0.1:{port}/output?token=")
        assert new != token and len(new) >= 32
        cookie = headers["set-cookie"]  # the page that asked keeps working
        assert cookie.startswith(f"reenact_token_{port}={new};") and "HttpOnly" in cookie
        assert call(port, "GET", "/status", token)[0] == 401  # the old one, refused at once
        assert call(port, "GET", "/status", new)[0] == 200
        assert call(port, "GET", "/obs", new)[1] == {"url": body["url"]}
    kept = user_config_dir / "control_token"
    assert kept.read_text().splitlines() == [new]  # and the next run's
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert resolve_token(load_config().panel) == (new, SAVED)


def test_a_token_the_user_gave_is_not_replaced(make_panel, user_config_dir):
    given = "from-the-environment-1234"
    with ControlServer(make_panel(), port=0, token=ControlToken(given, TOKEN_ENV)) as server:
        code, body, _ = call(server.port, "POST", "/obs/token", given)
        assert code == 409 and TOKEN_ENV in body["error"]
        assert call(server.port, "GET", "/status", given)[0] == 200
    assert not (user_config_dir / "control_token").exists()


def test_a_taken_port_moves_only_when_told_and_then_says_so_loudly(make_panel):
    token = "a-token-for-the-move-test"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        with pytest.raises(
            PortTaken,
            match=f"127.0.0.1:{port}: port {port} is taken .*panel.port_taken=move",
        ):
            ControlServer(make_panel(), port=port, token=token)
        config = load_config(None, ["panel.port_taken=move"])
        with ControlServer(
            make_panel(),
            port=port,
            token=token,
            move_if_taken=config.panel.port_taken == "move",
        ) as server:
            assert server.moved_from == port and server.port != port
            assert call(server.port, "GET", "/status", token)[0] == 200
            told = io.StringIO()
            print_address(server, "panel.token", file=told)
    lines = told.getvalue().splitlines()
    assert lines[1] == (
        f"reenact: OBS Browser Source: http://127.0.0.1:{server.port}/output"
        "?token=<token from panel.token>"
    )
    assert lines[2] == (
        f"reenact: WARNING: port {port} is taken by another program; the panel "
        f"moved to port {server.port} for this run: the OBS Browser Source link "
        "above is NEW, change it in OBS (or free the port and restart)"
    )
