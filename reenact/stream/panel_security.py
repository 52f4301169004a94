"""The panel server's gate: every request passes these checks before any route runs.

1. `Host` must be `127.0.0.1:PORT` or `localhost:PORT` (a DNS-rebinding page has its own name).
2. A state-changing request (anything but GET/HEAD) that carries an `Origin` must come from
   `http://127.0.0.1:PORT` or `http://localhost:PORT`. Scripts and stream decks send none.
3. The token, from the header `X-Reenact-Token`, `Authorization: Bearer`, the query `?token=`
   (the address reenact prints, the OBS URL) or the cookie that query sets (HttpOnly,
   SameSite=Strict, so another site's page never sends it). A token has at least
   MIN_TOKEN_CHARS characters, wherever it comes from. Unless the user gives one, it is made
   once and kept in `<config dir>/control_token` (mode 0600), so the OBS link stays the same
   from run to run; `ControlToken.renew()` (the panel's "new token") replaces it at once. A wrong one is logged (once per
   LOG_INTERVAL_S, never the token itself) and answered late (`FailedTokens`), so guessing is slow.

Every response also gets headers that keep the page to itself: no caching, no referrer (the
token is in the address), no sniffing, a content security policy of 'self'.
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path
from urllib.parse import parse_qs

from reenact.errors import ConfigError
from reenact.files import special_kind
from reenact.paths import config_dir

log = logging.getLogger(__name__)
TOKEN_ENV = "REENACT_CONTROL_TOKEN"
TOKEN_FILE = "control_token"  # in the user's config folder (reenact.paths)
GENERATED = "generated"  # token sources whose token reenact made, and may show and renew
SAVED = "saved"
MIN_TOKEN_CHARS = 16  # even from 16 lower-case letters, one of 26**16 is beyond any guessing rate
# Wrong tokens: the first FREE_FAILURES of the last FAIL_WINDOW_S are answered at once (a person
# retyping, a stale browser tab); each further one STEP_S later than the one before, up to
# MAX_DELAY_S. With at most MAX_HELD answers waiting (a browser opens at most 6 connections to a
# host) a guesser gets at most MAX_HELD / MAX_DELAY_S answers a second after the first few.
FREE_FAILURES = 50
STEP_S = 0.5
MAX_DELAY_S = 3.0
FAIL_WINDOW_S = 60.0
MAX_HELD = 16
LOG_INTERVAL_S = 10.0
SAFE_METHODS = {"GET", "HEAD"}
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' blob: data:; style-src 'self'; frame-ancestors 'none'",
    ),
]


def resolve_token(panel) -> tuple[str, str]:
    """(token, where it came from): REENACT_CONTROL_TOKEN, panel.token_file,
    panel.token, or (the token kept in `token_path()`, SAVED) when none is given,
    made there on first use. ConfigError for a token shorter than MIN_TOKEN_CHARS, naming where
    it came from, or for a token file that cannot be read or written."""
    if os.environ.get(TOKEN_ENV, "").strip():
        return _long_enough(os.environ[TOKEN_ENV].strip(), TOKEN_ENV), TOKEN_ENV
    if panel.token_file:
        path = Path(panel.token_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            reason = (
                "not UTF-8 text"
                if isinstance(exc, UnicodeDecodeError)
                else exc.strerror or str(exc)
            )
            raise ConfigError(f"panel.token_file: cannot read {path} ({reason})") from None
        token = lines[0].strip() if lines else ""
        _long_enough(
            token,
            f"panel.token_file: the first line of {path}",
            "panel.token_file",
        )
        return token, str(path)
    if panel.token:
        return _long_enough(panel.token, "panel.token"), "panel.token"
    return saved_token(), SAVED


def token_path() -> Path:
    return config_dir() / TOKEN_FILE


def saved_token() -> str:
    """The token kept in `token_path()`; a new one is made and kept there when there is none."""
    path = token_path()
    try:
        if not path.exists():
            _keep_token(path, secrets.token_urlsafe(24), replace=False)
        kind = special_kind(path.stat().st_mode)
        if kind is not None:
            raise ConfigError(f"{path}: not a token file but {kind}; remove it for a new token")
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = (
            "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror or str(exc)
        )
        raise ConfigError(
            f"control token: cannot keep it in {path} ({reason}); delete the "
            f"file, set {TOKEN_ENV}, or choose another folder with "
            "REENACT_CONFIG_DIR"
        ) from None
    token = lines[0].strip() if lines else ""
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"the first line of {path} is {len(token)} characters; use at least "
            f"{MIN_TOKEN_CHARS} (or delete the file for a new token)"
        )
    return token


def _keep_token(path: Path, token: str, *, replace: bool) -> None:
    """Write `token` to `path`, mode 0600 from the start, whole or not at all. Without
    `replace`, a token another reenact kept there meanwhile wins (link fails on an existing
    file), so two first runs at once agree on one token."""
    if path.parent.exists() and not path.parent.is_dir():  # mkdir would say "File exists"
        raise NotADirectoryError(errno.ENOTDIR, f"{path.parent} is not a folder")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(token + "\n")
        if replace:
            os.replace(partial, path)
        else:
            try:
                os.link(partial, path)
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links (FAT): the last writer wins
                os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


class TokenFixed(ValueError):
    """A new token was asked for, but the user gave this one (environment, config)."""


class ControlToken:
    """The token in force, read by `Guard` on every request. `renew()` replaces a token reenact
    made (kept in `token_path()` for SAVED) at once; one the user gave stays where it is set."""

    def __init__(self, value: str, source: str = GENERATED) -> None:
        self.value = value
        self.source = source
        self.file = token_path() if source == SAVED else None
        self._lock = threading.Lock()  # two renewals at once: the file and the value agree

    def renew(self) -> str:
        """A new token, in force (and kept) from now on; TokenFixed for a user's own token."""
        if self.source not in (GENERATED, SAVED):
            raise TokenFixed(
                f"the token comes from {self.source}: change it there and restart reenact"
            )
        token = secrets.token_urlsafe(24)
        with self._lock:
            if self.file is not None:
                _keep_token(self.file, token, replace=True)
            self.value = token
        return token


def _long_enough(token: str, where: str, setting: str = "") -> str:
    if len(token) < MIN_TOKEN_CHARS:
        unset = f"or leave {setting} unset" if setting else "or leave it unset"
        raise ConfigError(
            f"{where} is {len(token)} characters; use at least {MIN_TOKEN_CHARS} "
            f"({unset} for a generated one)"
        )
    return token


def cookie_name(port: int) -> str:
    return f"reenact_token_{port}"  # cookies ignore ports: one name per server


class FailedTokens:
    """Recent wrong tokens, for the whole server: it listens on loopback, where every client is
    this machine (and any 127.x address is its own), so one budget, not one per address.

    `wait()` answers a failure late without blocking the event loop or any other request; the
    right token is never delayed. When MAX_HELD answers are already waiting, `crowded()` is
    true and the guard refuses every request unchecked (429) rather than answer a guess early.
    """

    def __init__(self) -> None:
        self.times: deque[float] = deque(maxlen=FREE_FAILURES + 16)
        self.held = 0
        self.logged_at = -LOG_INTERVAL_S
        self.unlogged = 0

    def crowded(self) -> bool:
        return self.held >= MAX_HELD

    def delay(self, now: float) -> float:
        """0 for the first FREE_FAILURES of the last FAIL_WINDOW_S, then STEP_S more each."""
        while self.times and now - self.times[0] > FAIL_WINDOW_S:
            self.times.popleft()
        over = len(self.times) - FREE_FAILURES + 1
        return min(STEP_S * over, MAX_DELAY_S) if over > 0 else 0.0

    async def wait(self, scope, given: str) -> None:
        now = time.monotonic()
        seconds = self.delay(now)
        self.times.append(now)
        self._log(now, scope, given, seconds)
        if seconds <= 0:
            return
        self.held += 1
        try:
            await asyncio.sleep(seconds)
        finally:
            self.held -= 1

    def _log(self, now: float, scope, given: str, seconds: float) -> None:
        """One line per LOG_INTERVAL_S however many guesses: never the token, only its length."""
        self.unlogged += 1
        if now - self.logged_at < LOG_INTERVAL_S:
            return
        client = scope["client"][0] if scope.get("client") else "?"
        log.warning(
            "control server: wrong token from %s (%s %r, %d characters; %d wrong since "
            "the last such line), answered after %.1f s",
            client,
            scope["method"],
            scope["path"][:80],
            len(given),
            self.unlogged,
            seconds,
        )
        self.logged_at, self.unlogged = now, 0


class Guard:
    """ASGI middleware applying the three checks above to `app`."""

    def __init__(self, app, *, token: str | ControlToken) -> None:
        control = token if isinstance(token, ControlToken) else ControlToken(token)
        if len(control.value) < MIN_TOKEN_CHARS:
            raise ValueError(
                f"control token: {len(control.value)} characters; use at least {MIN_TOKEN_CHARS}"
            )
        self.app = app
        self.control = control
        self.failures = FailedTokens()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        port = scope["server"][1] if scope.get("server") else 0
        allowed = {f"127.0.0.1:{port}", f"localhost:{port}"}
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        refusal = self._refusal(scope["method"], headers, allowed)
        if refusal is not None:
            return await _reply(send, *refusal)
        given, from_query = self._given_token(headers, query, port)
        if self.failures.crowded():
            return await _reply(
                send, 429, "too many wrong tokens at once: try again in a few seconds"
            )
        if not hmac.compare_digest(given.encode(), self.control.value.encode()):
            if given:  # no token at all is no guess: answered at once
                await self.failures.wait(scope, given)
            message = (
                "missing or wrong token: open the address reenact printed "
                "(http://127.0.0.1:PORT/?token=...)"
            )
            return await _reply(send, 401, message)
        cookie = None
        if from_query:
            cookie = session_cookie(port, given)
        await self.app(scope, receive, _with_headers(send, cookie, self.control, given))

    @staticmethod
    def _refusal(method: str, headers: dict, allowed: set[str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if host not in allowed:
            return 403, f"Host '{host}' refused: use http://127.0.0.1 or http://localhost"
        origin = headers.get("origin")
        if (
            method not in SAFE_METHODS
            and origin is not None
            and origin not in {f"http://{h}" for h in allowed}
        ):
            return 403, f"Origin '{origin}' refused: the panel only accepts its own pages"
        return None

    @staticmethod
    def _given_token(headers: dict, query: dict, port: int) -> tuple[str, bool]:
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return auth[len("Bearer ") :], False
        if "x-reenact-token" in headers:
            return headers["x-reenact-token"], False
        if query.get("token"):
            return query["token"][0], True
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == cookie_name(port):
                return value, False
        return "", False


def session_cookie(port: int, token: str) -> bytes:
    """The Set-Cookie value that keeps `token` for the pages of this server."""
    return f"{cookie_name(port)}={token}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")


def _with_headers(send, cookie: bytes | None, control: ControlToken, given: str):
    async def wrapped(message) -> None:
        if message["type"] == "http.response.start":
            # a request that renewed the token sets the new one's cookie itself
            keep = cookie is not None and control.value == given
            extra = list(SECURITY_HEADERS) + ([(b"set-cookie", cookie)] if keep else [])
            message = {**message, "headers": list(message.get("headers", [])) + extra}
        await send(message)

    return wrapped


async def _reply(send, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ] + SECURITY_HEADERS
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
