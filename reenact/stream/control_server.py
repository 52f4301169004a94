"""The panel and control server: Starlette on uvicorn, on 127.0.0.1, in a background thread.

For stream decks and OBS scripts (every request carries the token: header `X-Reenact-Token`,
`Authorization: Bearer TOKEN`, or `?token=`):

    GET  /status                -> {"paused": false, "intensity": 1.0, ...}
    POST /action/<name>         -> {"ok": true}; name is one of Controls.ACTIONS, or a preset
                                   action such as preset_on:smile / preset_off:smile
                                   (reenact.stream.preset_controls)
    POST /settings              -> {"ok": true, ...}; see reenact.stream.live_settings

and the browser panel (`reenact.stream.panel_app`). Bounded whatever clients do: one event-loop
thread plus a few encoder threads however many connections; at most MAX_CONNECTIONS open (a new
one closes the one that has waited longest without sending a request, or is refused when all are
busy), so at most that many requests in flight; a request's head must
arrive within HEAD_TIMEOUT_S and an idle keep-alive connection closes after KEEP_ALIVE_S; heads
over MAX_HEAD_BYTES are refused. Dropped clients are not errors: nothing reaches the terminal but
one line at debug level. Actions reach the render loop through the bounded, coalescing queue of
`Controls`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import secrets
import socket
import threading
import time
from typing import cast

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from reenact.errors import DeviceError
from reenact.stream.panel_security import GENERATED, SAVED, ControlToken, Guard, token_path

log = logging.getLogger(__name__)
LOCALHOST = "127.0.0.1"
MAX_CONNECTIONS = 64
# uvicorn's limit_concurrency counts open connections too: above our cap, it only backs it up
CONCURRENCY = MAX_CONNECTIONS + 1
HEAD_TIMEOUT_S = 5.0
KEEP_ALIVE_S = 5
MAX_HEAD_BYTES = 16 * 1024
# how long a connection answered before its body was read keeps reading (and dropping) the rest
LINGER_S = 5.0
HEAD_END = re.compile(rb"\n\r?\n")  # the blank line that ends a head, as h11 finds it
_HEAD_ERROR = b'{"error": "request head over 16 KiB: refused"}'
HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: "
    b"application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
    % (len(_HEAD_ERROR), _HEAD_ERROR)
)


class _LingeringTransport:
    """The connection's transport, whose close() lingers when the request's body is still
    arriving (an upload answered 503 or 408 unread): the answer is sent, our side shut, and the
    rest of the body dropped as it comes, for up to LINGER_S. Closing a socket with unread data
    sends a reset, and the client, still writing, never reads the answer (a browser shows
    "connection reset" instead of "another upload is in progress")."""

    def __init__(self, transport, protocol: BoundedH11Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    def __getattr__(self, name: str):
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self._transport.is_closing() or self._protocol.lingering

    def close(self) -> None:
        protocol, raw = self._protocol, self._transport
        if protocol.lingering:
            return  # the client's end of the body, or LINGER_S, closes it
        if (
            raw.is_closing()
            or protocol.shutting_down
            or protocol.conn.their_state is not h11.SEND_BODY
            or not raw.can_write_eof()
        ):
            raw.close()
            return
        raw.write_eof()  # after what is buffered: the answer reaches the client whole
        protocol.linger(raw)


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a cap on open connections, a deadline for request heads, and
    a lingering close for a body answered before it was read."""

    lingering = False
    shutting_down = False

    def connection_made(self, transport) -> None:  # asyncio's signature
        super().connection_made(cast(asyncio.Transport, _LingeringTransport(transport, self)))
        self._waiting_since = time.monotonic()
        if len(self.connections) > MAX_CONNECTIONS and not self._evict_idlest():
            transport.abort()  # every slot is serving a request: refuse this one
            return
        self._deadline = self.loop.call_later(HEAD_TIMEOUT_S, self._check_head)

    @property
    def _waiting(self) -> bool:
        """Between requests: no head received yet, or the last response sent."""
        return self.cycle is None or self.cycle.response_complete

    def _evict_idlest(self) -> bool:
        """Over the cap: close the connection that has waited longest without sending a whole
        request head (a slow or hostile client), so a real request still gets a slot."""
        idle = [
            c
            for c in self.connections
            if c is not self and isinstance(c, BoundedH11Protocol) and c._waiting
        ]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c._waiting_since)
        oldest.transport.abort()
        self.connections.discard(oldest)
        return True

    def _check_head(self) -> None:
        """Close a connection that has not sent a whole request head in HEAD_TIMEOUT_S."""
        if self._waiting and time.monotonic() - self._waiting_since >= HEAD_TIMEOUT_S:
            self.transport.close()
            return
        self._deadline = self.loop.call_later(HEAD_TIMEOUT_S, self._check_head)

    def linger(self, raw) -> None:
        """Drop what the client still sends until it ends or LINGER_S have passed."""
        self.lingering = True
        self._raw = raw
        self.flow.resume_reading()
        self._linger_end = self.loop.call_later(LINGER_S, raw.close)

    def shutdown(self) -> None:
        self.shutting_down = True
        if self.lingering:
            self._raw.close()
            return
        super().shutdown()

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return
        if self.conn.their_state is h11.IDLE and self._head_too_large(data):
            self.transport.write(HEAD_TOO_LARGE)
            self.transport.close()
            return
        super().data_received(data)

    def _head_too_large(self, data: bytes) -> bool:
        """Whether the request head being received is over MAX_HEAD_BYTES, complete or not:
        h11's max_incomplete_event_size only limits a head that arrives in pieces."""
        buffered = self.conn.trailing_data[0] + data
        end = HEAD_END.search(buffered)
        return (end.start() if end else len(buffered)) > MAX_HEAD_BYTES

    def on_response_complete(self) -> None:
        self._waiting_since = time.monotonic()  # the next request's head is due from now
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        deadline = getattr(self, "_deadline", None)
        if deadline is not None:
            deadline.cancel()
        if self.lingering:
            self._linger_end.cancel()
        super().connection_lost(exc)


class _OneLine(logging.Filter):
    """Keeps uvicorn off the user's terminal: what a client can trigger (dropped connections,
    invalid requests, upgrades, the concurrency limit: warnings, and errors with a traceback)
    becomes one debug line; only a plain error (a bug in the app) gets through, on one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info or record.levelno < logging.ERROR:
            cause = f" ({record.exc_info[1]})" if record.exc_info else ""
            log.debug("control server: %s%s", record.getMessage(), cause)
            return False
        return True


def quiet_uvicorn_logging() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _OneLine) for f in logger.filters):
        logger.addFilter(_OneLine())
    logging.getLogger("uvicorn.access").disabled = True


class PortTaken(DeviceError):
    """The control port is held by another program."""


def _bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:`port` (0 = any free port). A port that is taken is
    refused, never swapped for a free one: OBS's Browser Source and the user's scripts would go
    on sending the token to whoever holds it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if os.name != "nt":  # a restart within TIME_WAIT gets its port back (on Windows it would steal)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOCALHOST, port))
    except OSError as exc:
        sock.close()
        taken = exc.errno == errno.EADDRINUSE
        why = (
            f"port {port} is taken by another program (another reenact?), which would receive "
            "the token OBS's Browser Source and your scripts send there; stop it, or"
            if taken
            else f"{exc.strerror};"
        )
        raise (PortTaken if taken else DeviceError)(
            f"control interface: cannot listen on {LOCALHOST}:{port}: {why} choose a port with "
            "--set panel.port=N (0 = any free port; or "
            "panel.port_taken=move)"
        ) from None
    sock.listen(128)
    return sock


class ControlServer:
    """Serves `panel` (a Panel, or bare Controls for the API alone) on 127.0.0.1:`port`
    (0 = any free port; `move_if_taken`: a free one when another program holds `port`, noted in
    `moved_from`) in a background thread, with `token` ("" = a generated one; a
    `ControlToken` says where it is kept, for the panel's "new token")."""

    def __init__(
        self, panel, *, port: int, token: str | ControlToken = "", move_if_taken: bool = False
    ) -> None:
        from reenact.stream.panel_app import build_app

        self.control = (
            token
            if isinstance(token, ControlToken)
            else ControlToken(token or secrets.token_urlsafe(24))
        )
        self.panel = panel if hasattr(panel, "controls") else _bare_panel(panel)
        self.moved_from = None
        try:
            self.socket = _bind(port)
        except PortTaken:
            if not move_if_taken:
                raise
            self.socket, self.moved_from = _bind(0), port
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(
            Guard(build_app(self.panel, self.control), token=self.control),
            http=BoundedH11Protocol,
            ws="none",
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            limit_concurrency=CONCURRENCY,
            timeout_keep_alive=KEEP_ALIVE_S,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="reenact-control", daemon=True)

    def _serve(self) -> None:
        self.server.run(sockets=[self.socket])

    @property
    def token(self) -> str:
        """The token in force (the panel may have renewed it)."""
        return self.control.value

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> ControlServer:
        quiet_uvicorn_logging()
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def close(self) -> None:
        self.panel.close()
        if self._thread.is_alive():
            self.server.should_exit = True
            self._thread.join(timeout=3)
        self.socket.close()

    def __enter__(self) -> ControlServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _bare_panel(controls):
    from reenact.stream.panel import Panel

    return Panel(controls, None, preview_fps=5.0, output_fps=30.0)


def print_address(server: ControlServer, token_source: str, file=None) -> None:
    """Tell the user where the panel is; the token appears only when reenact made it (the kept
    one, the same every run, with where it is kept). To reenact's logger, or printed to `file`."""
    shown = token_source in (GENERATED, SAVED)
    token = server.token if shown else f"<token from {token_source}>"
    lines = [
        (logging.INFO, f"panel at {server.url}/?token={token}"),
        (logging.INFO, f"OBS Browser Source: {server.url}/output?token={token}"),
    ]
    if server.moved_from is not None:
        lines.append(
            (
                logging.WARNING,
                f"port {server.moved_from} is taken by another program; "
                f"the panel moved to port {server.port} for this run: the OBS Browser "
                "Source link above is NEW, change it in OBS (or free the port and "
                "restart)",
            )
        )
    if token_source == SAVED:
        lines.append(
            (
                logging.INFO,
                f"the token is kept in {token_path()}, so this link stays "
                'the same; the panel\'s "new token" (or deleting that file) replaces it',
            )
        )
    for level, text in lines:
        if file is None:
            log.log(level, text)
        else:
            label = "" if level == logging.INFO else f"{logging.getLevelName(level)}: "
            print(f"reenact: {label}{text}", file=file)
