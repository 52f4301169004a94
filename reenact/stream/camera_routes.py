"""The panel's camera picker: which cameras there are, and moving to another without a restart.

    GET  /cameras    {"cameras": [{"device": "0", "name": "..."}], "current": "0", "error": ""}
                     (`error`: why the last switch failed, the current camera still running);
                     404 when the session's source is not a camera
    POST /camera     {"device": "1"} -> {"ok": true, "device": "1"}; 404 naming the device when
                     it is not one of the cameras listed, 400 for a body that is not that object

The switch is queued through the controls and done by the session's source on its capture thread
(`reenact.stream.source_control`); `GET /cameras` shows the new `current` once it runs.
"""

from __future__ import annotations

import json
import reprlib

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BODY_LIMIT = 1024  # {"device": "..."} is a few dozen bytes
BODY_TIMEOUT_S = 10.0  # a body slower than this is a 408 (the app's TimeoutError handler)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _small_body(request: Request) -> bytes | None:
    """The body, or None when it is over BODY_LIMIT; TimeoutError after BODY_TIMEOUT_S."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > BODY_LIMIT:
        return None
    body = b""
    with anyio.fail_after(BODY_TIMEOUT_S):
        async for chunk in request.stream():
            body += chunk
            if len(body) > BODY_LIMIT:
                return None
    return body


def parse_camera_body(body: bytes) -> str:
    """`{"device": "1"}` (a number is taken as its text) -> "1"; ValueError in one line."""
    try:
        value = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ValueError('camera: the body is not JSON; send {"device": "1"}') from None
    device = value.get("device") if isinstance(value, dict) else None
    if isinstance(device, int) and not isinstance(device, bool):
        device = str(device)
    if not isinstance(device, str) or not device.strip():
        raise ValueError(f'camera: expected {{"device": "1"}}, got {reprlib.repr(value)}')
    return device.strip()


def _listed(cameras: list[dict[str, str]], current: str) -> list[dict[str, str]]:
    """The cameras, with the current one added where the platform lists none by name."""
    if any(camera["device"] == current for camera in cameras):
        return cameras
    return [*cameras, {"device": current, "name": f"camera {current}"}]


def camera_routes(panel) -> list[Route]:
    """GET /cameras and POST /camera over `panel`'s session source."""

    def source():
        found = getattr(panel.reenactor, "source", None)
        return found if found is not None and found.switchable else None

    def not_a_camera() -> JSONResponse:
        found = getattr(panel.reenactor, "source", None)
        name = getattr(found, "name", "none")
        return _error(
            404,
            f"cameras: this session's source is '{name}', not a camera; start "
            "with --source webcam:N to pick cameras",
        )

    async def cameras(request: Request) -> Response:
        camera = source()
        if camera is None:
            return not_a_camera()
        listed = await anyio.to_thread.run_sync(camera.cameras)
        return JSONResponse(
            {
                "cameras": _listed(listed, camera.label),
                "current": camera.label,
                "error": camera.error,
            }
        )

    async def switch(request: Request) -> Response:
        camera = source()
        if camera is None:
            return not_a_camera()
        body = await _small_body(request)
        if body is None:
            return _error(413, f"camera: body over {BODY_LIMIT} bytes")
        try:
            device = parse_camera_body(body)
        except ValueError as exc:
            return _error(400, str(exc))
        listed = await anyio.to_thread.run_sync(camera.cameras)
        if listed and device not in {c["device"] for c in listed}:
            known = ", ".join(f"{c['device']} ({c['name']})" for c in listed)
            return _error(404, f"camera {reprlib.repr(device)}: not found here (cameras: {known})")
        panel.controls.request_camera(device)
        return JSONResponse({"ok": True, "device": device})

    return [Route("/cameras", cameras), Route("/camera", switch, methods=["POST"])]
