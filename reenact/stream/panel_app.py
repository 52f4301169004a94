"""The panel's routes (Starlette). Every request has passed `panel_security.Guard` first.

    GET  /                          the panel page (`?token=` sets the cookie, then redirects)
    GET  /output                    the output alone, full-frame: OBS's Browser Source
    GET  /status                    state, settings, stats, engine, gallery (JSON)
    POST /action/<name>             one of Controls.ACTIONS -> {"ok": true}
    GET  /settings                  the live settings table with current values
    POST /settings                  {"stream.intensity": 0.8, ...} -> 400 naming a bad key
    GET  /stream/output.mjpg        MJPEG of the output, full size (OBS; ?fps=, default the
                                    output's rate)
    GET  /stream/previews.mjpg      MJPEG for the panel: the output and the camera with its
                                    landmarks side by side, scaled down (?fps=, default
                                    stream.preview_fps)
    GET  /stream/preview.mjpg       the same with the output alone
    GET  /stream/camera.mjpg        MJPEG of the camera with its landmarks, scaled down (?fps=)
    GET  /targets                   the gallery; GET /targets/<i>/thumb.jpg its thumbnails
    POST /targets/<i>/select        switch to target i (with the cross-fade)
    POST /targets?name=FILE         upload a portrait (the raw file as the body)
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from importlib import resources

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response, \
    StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from reenact.errors import InputError
from reenact.stream.gallery import UploadError
from reenact.stream.live_settings import parse_settings

WEB_DIR = resources.files("reenact.stream") / "web"
JSON_BODY_LIMIT = 64 * 1024
UPLOAD_TIMEOUT_S = 60.0
BOUNDARY = b"frame"
MIN_FPS, MAX_FPS = 0.5, 60.0


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit` (stops reading there)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    with anyio.fail_after(UPLOAD_TIMEOUT_S):
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return None
    return bytes(body)


async def _mjpeg(feed, fps):
    """multipart/x-mixed-replace parts, newest frame each time, at most `fps()` a second
    (read before each frame, so a changed preview rate applies to open streams)."""
    last = feed.seq
    while True:
        started = time.monotonic()
        if not await feed.next_frame(last):
            break
        last, jpeg = await anyio.to_thread.run_sync(feed.jpeg)
        yield (b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\nContent-Length: "
               + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")
        rest = 1.0 / fps() - (time.monotonic() - started)
        if rest > 0:
            await asyncio.sleep(rest)


class _Routes:
    """One method per route, over a `reenact.stream.panel.Panel`."""

    def __init__(self, panel) -> None:
        self.panel = panel
        self.controls = panel.controls
        self.gallery = panel.gallery

    async def page(self, request: Request) -> Response:
        if "token" in request.query_params:  # the cookie is set: drop the token from the bar
            return RedirectResponse("/", status_code=303)
        return FileResponse(str(WEB_DIR / "index.html"))

    async def output_page(self, request: Request) -> Response:
        return FileResponse(str(WEB_DIR / "output.html"))

    async def status(self, request: Request) -> Response:
        return JSONResponse(self.panel.status())

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
            values = parse_settings(json.loads(body or b"null"))
        except json.JSONDecodeError:
            return _error(400, "settings: the body is not JSON")
        except ValueError as exc:
            return _error(400, str(exc))
        self.controls.request_settings(values)
        return JSONResponse({"ok": True, "settings": values})

    def stream(self, feed, default_fps):
        """An MJPEG route over `feed`; ?fps= fixes its rate, else `default_fps()` (live)."""
        async def route(request: Request) -> Response:
            try:
                fixed = float(request.query_params["fps"]) if "fps" in request.query_params \
                    else None
            except ValueError:
                fixed = math.nan
            if fixed is not None and not math.isfinite(fixed):
                return _error(400, "fps: expected a number")
            rate = (lambda: fixed) if fixed is not None else default_fps
            return StreamingResponse(
                _mjpeg(feed, lambda: min(max(rate(), MIN_FPS), MAX_FPS)),
                media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}")
        return route

    async def targets(self, request: Request) -> Response:
        gallery = self.gallery
        if gallery is None:
            return _error(404, "no target gallery in this session")
        if request.method == "GET":
            return JSONResponse({"targets": gallery.items(), "folder": str(gallery.folder)})
        name = request.query_params.get("name", "upload")
        limit_mb = gallery.config.stream.upload_max_mb
        body = await _read_body(request, int(limit_mb * 1e6))
        try:
            if body is None:
                raise UploadError(f"{name}: too large (the limit is {limit_mb:g} MB, "
                                  "stream.upload_max_mb)", 413)
            index = await anyio.to_thread.run_sync(gallery.add_upload, body, name)
        except UploadError as exc:
            return _error(exc.status, str(exc))
        except InputError as exc:  # no face, several faces, face too small
            return _error(400, str(exc))
        self.controls.request_select(index)
        return JSONResponse({"ok": True, "index": index, "targets": gallery.items()})

    def _index(self, request: Request) -> int | None:
        index = request.path_params["index"]
        return index if self.gallery is not None and 0 <= index < len(self.gallery) else None

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
    return _error(getattr(exc, "status_code", 404), f"{request.method} {request.url.path}: "
                  f"{getattr(exc, 'detail', 'not found')}")


def build_app(panel) -> Starlette:
    """The routes over `panel` (a `reenact.stream.panel.Panel`)."""
    r = _Routes(panel)
    routes = [
        Route("/", r.page), Route("/output", r.output_page),
        Route("/status", r.status), Route("/action/{name}", r.action, methods=["POST"]),
        Route("/settings", r.settings, methods=["GET", "POST"]),
        Route("/stream/output.mjpg", r.stream(panel.output, lambda: panel.output_fps)),
        Route("/stream/previews.mjpg", r.stream(panel.previews, lambda: panel.preview_fps)),
        Route("/stream/preview.mjpg", r.stream(panel.preview, lambda: panel.preview_fps)),
        Route("/stream/camera.mjpg", r.stream(panel.camera, lambda: panel.preview_fps)),
        Route("/targets", r.targets, methods=["GET", "POST"]),
        Route("/targets/{index:int}/thumb.jpg", r.thumb),
        Route("/targets/{index:int}/select", r.select, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(WEB_DIR))),
    ]
    return Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
