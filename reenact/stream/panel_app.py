"""The panel's routes (Starlette). Every request has passed `panel_security.Guard` first.

GET  /                          the panel page (`?token=` sets the cookie, then redirects)
GET  /output                    the output alone, full-frame: OBS's Browser Source
GET  /status                    state, settings, stats, engine, gallery (JSON)
GET  /events                    the same JSON pushed twice a second (server-sent events);
                                `event: stopped` when the session ends
POST /action/<name>             one of Controls.ACTIONS -> {"ok": true}
GET  /settings                  the live settings table with current values
POST /settings                  {"stream.intensity": 0.8, ...} -> 400 naming a bad key
GET  /stream/output.mjpg        MJPEG of the output, full size (OBS; ?fps=, default the
                                output's rate); WebP parts with alpha when transparent
GET  /stream/previews.mjpg      MJPEG for the panel: the output and the camera with its
                                landmarks side by side, scaled down (?fps=, default
                                panel.preview_fps)
GET  /stream/preview.mjpg       the same with the output alone
GET  /stream/camera.mjpg        MJPEG of the camera with its landmarks, scaled down (?fps=)
GET  /targets                   the gallery; GET /targets/<i>/thumb.jpg its thumbnails
POST /targets/<i>/select        switch to target i (with the cross-fade)
POST /targets?name=FILE         upload a portrait (the raw file as the body)
GET  /obs                       {"url": OBS's Browser Source address} (reenact.stream.obs_link)
POST /obs/token                 a new token, the old one refused from now on -> {"url": ...}
GET  /cameras, POST /camera     the camera picker (reenact.stream.camera_routes)
"""

from __future__ import annotations

import asyncio
import json
import math
import reprlib
import time
from importlib import resources

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from reenact.errors import InputError
from reenact.stream.gallery import UploadError
from reenact.stream.live_settings import parse_settings_body
from reenact.stream.obs_link import obs_routes
from reenact.stream.camera_routes import camera_routes
from reenact.stream.saved_settings import save_settings

WEB_DIR = resources.files("reenact.stream") / "web"
JSON_BODY_LIMIT = 64 * 1024
UPLOAD_TIMEOUT_S = 60.0
# a body (an upload, settings) must keep up this rate after a grace for its start: a slow client
# cannot keep the one upload slot; a browser on this machine sends 20 MB in well under a second
MIN_UPLOAD_BYTES_S = 256 * 1024
UPLOAD_GRACE_S = 3.0
# MJPEG streams open at once, all routes together: well below the server's connection cap, so
# that open previews always leave slots for /status, /settings and the page
MAX_STREAMS = 8
BOUNDARY = b"frame"
# /events streams open at once: a new one ends the oldest, so a reloaded page always gets one and
# no client holds more than this many connections through them
MAX_EVENT_STREAMS = 4
EVENT_EVERY_S = 0.5
EVENT_RETRY_MS = 2000  # how soon a browser's EventSource reconnects after the stream drops
MIN_FPS, MAX_FPS = 0.5, 60.0


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _busy(message: str) -> JSONResponse:
    """503 for a request over a route's cap; the connection closes, its body unread."""
    return JSONResponse(
        {"error": message}, status_code=503, headers={"Retry-After": "1", "Connection": "close"}
    )


async def _read_body(
    request: Request, limit: int, *, min_rate: float = MIN_UPLOAD_BYTES_S
) -> bytes | None:
    """The body, or None when it is longer than `limit` (stops reading there). TimeoutError
    when it takes over UPLOAD_TIMEOUT_S or falls more than UPLOAD_GRACE_S behind `min_rate`
    (bytes a second; 0 = no minimum)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    start = time.monotonic()
    chunks = request.stream()
    while True:
        due = start + UPLOAD_TIMEOUT_S
        if min_rate:
            due = min(due, start + UPLOAD_GRACE_S + len(body) / min_rate)
        with anyio.fail_after(max(due - time.monotonic(), 0.0)):
            chunk = await anext(chunks, None)
        if chunk is None:
            return bytes(body)
        body += chunk
        if len(body) > limit:
            return None


async def _timed_out(request: Request, exc: Exception) -> Response:
    """A body that came too slowly (`_read_body`): 408, and the connection closes."""
    return JSONResponse(
        {"error": f"{request.method} {request.url.path}: the body came too slowly (timed out)"},
        status_code=408,
        headers={"Connection": "close"},
    )


class _SlotResponse(StreamingResponse):
    """A streaming response that gives its route's slot back however it ends."""

    def __init__(self, content, release, **kwargs) -> None:
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def _mjpeg(feed, fps):
    """multipart/x-mixed-replace parts (JPEG; WebP with alpha for a transparent output), newest
    frame each time, at most `fps()` a second (read before each frame, so a changed preview
    rate applies to open streams)."""
    last = feed.seq
    while True:
        started = time.monotonic()
        if not await feed.next_frame(last):
            break
        last, data, media_type = await anyio.to_thread.run_sync(feed.image)
        yield (
            b"--"
            + BOUNDARY
            + b"\r\nContent-Type: "
            + media_type.encode()
            + b"\r\nContent-Length: "
            + str(len(data)).encode()
            + b"\r\n\r\n"
            + data
            + b"\r\n"
        )
        rest = 1.0 / fps() - (time.monotonic() - started)
        if rest > 0:
            await asyncio.sleep(rest)


async def _events(panel, stop: anyio.Event):
    """Server-sent events: the status every EVENT_EVERY_S until `stop` or the session's end,
    which is announced as `event: stopped`."""
    yield f"retry: {EVENT_RETRY_MS}\n\n".encode()
    while not (panel.closed or stop.is_set()):
        data = json.dumps(
            panel.status(), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
        yield f"data: {data}\n\n".encode()
        with anyio.move_on_after(EVENT_EVERY_S):
            await stop.wait()
    if panel.closed:
        yield b"event: stopped\ndata: {}\n\n"


class _Routes:
    """One method per route, over a `reenact.stream.panel.Panel`."""

    def __init__(self, panel) -> None:
        self.panel = panel
        self.controls = panel.controls
        self.gallery = panel.gallery
        self.streams = 0  # MJPEG streams open (the event loop's thread only)
        self.uploading = False  # an upload is being read or prepared
        self.event_streams: list[anyio.Event] = []  # open /events streams' stops, oldest first

    async def page(self, request: Request) -> Response:
        if "token" in request.query_params:  # the cookie is set: drop the token from the bar
            return RedirectResponse("/", status_code=303)
        return FileResponse(str(WEB_DIR / "index.html"))

    async def output_page(self, request: Request) -> Response:
        return FileResponse(str(WEB_DIR / "output.html"))

    async def status(self, request: Request) -> Response:
        return JSONResponse(self.panel.status())

    async def events(self, request: Request) -> Response:
        stop = anyio.Event()
        self.event_streams.append(stop)
        if len(self.event_streams) > MAX_EVENT_STREAMS:
            self.event_streams.pop(0).set()
        return _SlotResponse(
            _events(self.panel, stop),
            lambda: self._events_closed(stop),
            media_type="text/event-stream",
        )

    def _events_closed(self, stop: anyio.Event) -> None:
        if stop in self.event_streams:
            self.event_streams.remove(stop)

    async def action(self, request: Request) -> Response:
        try:
            self.controls.request(request.path_params["name"])
        except ValueError as exc:
            return _error(400, str(exc))
        return JSONResponse({"ok": True})

    async def settings(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"settings": self.panel.settings()})
        body = await _read_body(request, JSON_BODY_LIMIT)
        if body is None:
            return _error(413, f"settings: body over {JSON_BODY_LIMIT} bytes")
        try:
            values = parse_settings_body(body)
        except ValueError as exc:  # not JSON, too deep, a huge number, a bad key or value
            return _error(400, str(exc))
        self.controls.request_settings(values)
        await anyio.to_thread.run_sync(save_settings, values)  # kept for the next run
        return JSONResponse({"ok": True, "settings": values})

    def stream(self, feed, default_fps):
        """An MJPEG route over `feed`; ?fps= fixes its rate, else `default_fps()` (live)."""

        async def route(request: Request) -> Response:
            try:
                fixed = (
                    float(request.query_params["fps"]) if "fps" in request.query_params else None
                )
            except ValueError:
                fixed = math.nan
            if fixed is not None and not math.isfinite(fixed):
                return _error(400, "fps: expected a number")
            rate = (lambda: fixed) if fixed is not None else default_fps
            if self.streams >= MAX_STREAMS:
                return _busy(
                    f"{request.url.path}: {MAX_STREAMS} streams are open already (the "
                    "limit); close one"
                )
            self.streams += 1
            return _SlotResponse(
                _mjpeg(feed, lambda: min(max(rate(), MIN_FPS), MAX_FPS)),
                self._stream_closed,
                media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}",
            )

        return route

    def _stream_closed(self) -> None:
        self.streams -= 1

    async def targets(self, request: Request) -> Response:
        gallery = self.gallery
        if gallery is None:
            return _error(404, "no target gallery in this session")
        if request.method == "GET":
            return JSONResponse({"targets": gallery.items(), "folder": str(gallery.folder)})
        name = request.query_params.get("name", "upload")
        if self.uploading:  # one at a time, refused rather than queued
            return _busy(
                f"{name}: another upload is in progress; send it again when that one is done"
            )
        self.uploading = True
        try:
            return await self._upload(request, name)
        finally:
            self.uploading = False

    async def _upload(self, request: Request, name: str) -> Response:
        gallery = self.gallery
        limit_mb = gallery.config.panel.upload_max_mb
        body = await _read_body(request, int(limit_mb * 1e6))
        try:
            if body is None:
                raise UploadError(
                    f"{name}: too large (the limit is {limit_mb:g} MB, panel.upload_max_mb)", 413
                )
            index = await anyio.to_thread.run_sync(gallery.add_upload, body, name)
        except UploadError as exc:
            return _error(exc.status, str(exc))
        except InputError as exc:  # no face, several faces, face too small
            return _error(400, str(exc))
        self.controls.request_select(index)
        return JSONResponse({"ok": True, "index": index, "targets": gallery.items()})

    def _index(self, request: Request) -> int | None:
        """The path's target index, or None for no such target: checked as text first, since
        Python refuses to read an int of over 4,300 digits (a 500 otherwise)."""
        text = request.path_params["index"]
        if self.gallery is None or not (text.isascii() and text.isdigit()) or len(text) > 9:
            return None
        index = int(text)
        return index if index < len(self.gallery) else None

    async def thumb(self, request: Request) -> Response:
        index = self._index(request)
        if index is None:
            return _error(404, "no such target")
        data = await anyio.to_thread.run_sync(self.gallery.thumbnail, index)
        return Response(data, media_type="image/jpeg")

    async def select(self, request: Request) -> Response:
        index = self._index(request)
        if index is None:
            return _error(404, "no such target")
        self.controls.request_select(index)
        return JSONResponse({"ok": True, "index": index})


async def _not_found(request: Request, exc: Exception) -> Response:
    path = reprlib.repr(request.url.path)  # cut short: a path may be 16 KiB
    return _error(
        getattr(exc, "status_code", 404),
        f"{request.method} {path}: {getattr(exc, 'detail', 'not found')}",
    )


def build_app(panel, token=None) -> Starlette:
    """The routes over `panel` (a `reenact.stream.panel.Panel`); /obs with `token` (the
    server's `ControlToken`)."""
    r = _Routes(panel)
    routes = [
        Route("/", r.page),
        Route("/output", r.output_page),
        Route("/status", r.status),
        Route("/action/{name}", r.action, methods=["POST"]),
        Route("/events", r.events),
        Route("/settings", r.settings, methods=["GET", "POST"]),
        Route("/stream/output.mjpg", r.stream(panel.output, lambda: panel.output_fps)),
        Route("/stream/previews.mjpg", r.stream(panel.previews, lambda: panel.preview_fps)),
        Route("/stream/preview.mjpg", r.stream(panel.preview, lambda: panel.preview_fps)),
        Route("/stream/camera.mjpg", r.stream(panel.camera, lambda: panel.preview_fps)),
        Route("/targets", r.targets, methods=["GET", "POST"]),
        Route("/targets/{index}/thumb.jpg", r.thumb),
        Route("/targets/{index}/select", r.select, methods=["POST"]),
        *obs_routes(token),
        *camera_routes(panel),
        Mount("/static", StaticFiles(directory=str(WEB_DIR))),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={404: _not_found, 405: _not_found, TimeoutError: _timed_out},
    )
