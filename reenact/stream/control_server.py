"""A small local control interface for OBS scripts and stream decks.

HTTP on 127.0.0.1 only, every request carrying the token (header `X-Reenact-Token: TOKEN` or
`Authorization: Bearer TOKEN`):

    GET  /status                -> {"paused": false, "intensity": 1.0, ...}
    POST /action/<name>         -> {"ok": true}; name is one of Controls.ACTIONS, or a preset
                                   action such as preset_on:smile / preset_off:smile
                                   (reenact.stream.preset_controls)

Actions are queued and applied on the main thread, between frames.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from reenact.errors import DeviceError

log = logging.getLogger(__name__)
LOCALHOST = "127.0.0.1"


def _handler(controls, token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "reenact-control"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (stdlib signature)
            log.debug("control: " + format, *args)

        def _reply(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            given = self.headers.get("X-Reenact-Token", "")
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Bearer "):
                given = auth[len("Bearer "):]
            return hmac.compare_digest(given.encode(), token.encode())

        def do_GET(self) -> None:  # noqa: N802 (stdlib name)
            if not self._authorized():
                return self._reply(401, {"error": "missing or wrong token"})
            if self.path == "/status":
                return self._reply(200, controls.status())
            self._reply(404, {"error": f"unknown path {self.path}"})

        def do_POST(self) -> None:  # noqa: N802
            if not self._authorized():
                return self._reply(401, {"error": "missing or wrong token"})
            prefix = "/action/"
            if not self.path.startswith(prefix):
                return self._reply(404, {"error": f"unknown path {self.path}"})
            try:
                controls.request(self.path[len(prefix):])
            except ValueError as exc:
                return self._reply(400, {"error": str(exc)})
            self._reply(200, {"ok": True})

    return Handler


class ControlServer:
    """Serves `controls` on 127.0.0.1:`port` (0 = any free port) in a background thread."""

    def __init__(self, controls, *, port: int, token: str = "") -> None:
        self.token = token or secrets.token_urlsafe(16)
        try:
            self.httpd = ThreadingHTTPServer((LOCALHOST, port), _handler(controls, self.token))
        except OSError as exc:
            raise DeviceError(f"control interface: cannot listen on {LOCALHOST}:{port} "
                              f"({exc.strerror}); choose another stream.control_port") from None
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="reenact-control",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self.httpd.shutdown()
            self._thread.join(timeout=2)
        self.httpd.server_close()

    def __enter__(self) -> ControlServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
