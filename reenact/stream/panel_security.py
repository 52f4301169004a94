"""The panel server's gate: every request passes these checks before any route runs.

1. `Host` must be `127.0.0.1:PORT` or `localhost:PORT` (a DNS-rebinding page has its own name).
2. A state-changing request (anything but GET/HEAD) that carries an `Origin` must come from
   `http://127.0.0.1:PORT` or `http://localhost:PORT`. Scripts and stream decks send none.
3. The token, from the header `X-Reenact-Token`, `Authorization: Bearer`, the query `?token=`
   (the address reenact prints, the OBS URL) or the cookie that query sets (HttpOnly,
   SameSite=Strict, so another site's page never sends it).

Every response also gets headers that keep the page to itself: no caching, no referrer (the
token is in the address), no sniffing, a content security policy of 'self'.
"""

from __future__ import annotations

import hmac
import json
import os
from pathlib import Path
from urllib.parse import parse_qs

from reenact.errors import ConfigError

TOKEN_ENV = "REENACT_CONTROL_TOKEN"
SAFE_METHODS = {"GET", "HEAD"}
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' blob: data:; style-src 'self'; frame-ancestors 'none'"),
]


def resolve_token(stream_config) -> tuple[str, str]:
    """(token, where it came from): REENACT_CONTROL_TOKEN, stream.control_token_file,
    stream.control_token, or ("", "generated") when none is given."""
    if os.environ.get(TOKEN_ENV, "").strip():
        return os.environ[TOKEN_ENV].strip(), TOKEN_ENV
    if stream_config.control_token_file:
        path = Path(stream_config.control_token_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"stream.control_token_file: cannot read {path} "
                              f"({exc.strerror or exc})") from None
        token = lines[0].strip() if lines else ""
        if len(token) < 8:
            raise ConfigError(f"stream.control_token_file: {path} must hold a token of at "
                              "least 8 characters on its first line")
        return token, str(path)
    if stream_config.control_token:
        return stream_config.control_token, "stream.control_token"
    return "", "generated"


def cookie_name(port: int) -> str:
    return f"reenact_token_{port}"  # cookies ignore ports: one name per server


class Guard:
    """ASGI middleware applying the three checks above to `app`."""

    def __init__(self, app, *, token: str) -> None:
        self.app = app
        self.token = token.encode()

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
        if not hmac.compare_digest(given.encode(), self.token):
            message = ("missing or wrong token: open the address reenact printed "
                       "(http://127.0.0.1:PORT/?token=...)")
            return await _reply(send, 401, message)
        cookie = None
        if from_query:
            cookie = (f"{cookie_name(port)}={given}; Path=/; HttpOnly; SameSite=Strict"
                      ).encode("latin-1")
        await self.app(scope, receive, _with_headers(send, cookie))

    @staticmethod
    def _refusal(method: str, headers: dict, allowed: set[str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if host not in allowed:
            return 403, f"Host '{host}' refused: use http://127.0.0.1 or http://localhost"
        origin = headers.get("origin")
        if method not in SAFE_METHODS and origin is not None and \
                origin not in {f"http://{h}" for h in allowed}:
            return 403, f"Origin '{origin}' refused: the panel only accepts its own pages"
        return None

    @staticmethod
    def _given_token(headers: dict, query: dict, port: int) -> tuple[str, bool]:
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return auth[len("Bearer "):], False
        if "x-reenact-token" in headers:
            return headers["x-reenact-token"], False
        if query.get("token"):
            return query["token"][0], True
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == cookie_name(port):
                return value, False
        return "", False


def _with_headers(send, cookie: bytes | None):
    async def wrapped(message) -> None:
        if message["type"] == "http.response.start":
            extra = list(SECURITY_HEADERS) + ([(b"set-cookie", cookie)] if cookie else [])
            message = {**message, "headers": list(message.get("headers", [])) + extra}
        await send(message)

    return wrapped


async def _reply(send, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())] + SECURITY_HEADERS
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
