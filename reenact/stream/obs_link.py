"""The OBS link on the panel: `GET /obs` gives the Browser Source address, `POST /obs/token`
makes a new token (the old one is refused from then on) and gives the new address.

The address is built from the server's own port and the token in force, so the panel's "copy OBS
link" is always the one that works now. A renewal also sets the panel's cookie to the new token,
so the page that asked keeps working; every other client (OBS included) needs the new address.
"""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reenact.stream.panel_security import ControlToken, TokenFixed, session_cookie


def obs_url(request: Request, token: str) -> str:
    """The OBS Browser Source address of the server that answers `request`."""
    host, port = request.scope["server"]
    return f"http://{host}:{port}/output?token={token}"


def obs_routes(control: ControlToken | None) -> list[Route]:
    """GET /obs and POST /obs/token over `control` (none without one: they answer 404)."""
    if control is None:
        return []

    async def link(request: Request) -> Response:
        return JSONResponse({"url": obs_url(request, control.value)})

    async def renew(request: Request) -> Response:
        try:
            # the file write is off the event loop's thread
            token = await anyio.to_thread.run_sync(control.renew)
        except TokenFixed as exc:
            return JSONResponse({"error": f"new token: {exc}"}, status_code=409)
        except OSError as exc:
            where = control.file or "the token file"
            return JSONResponse(
                {
                    "error": f"new token: cannot write {where} "
                    f"({exc.strerror or exc}); the old token stays"
                },
                status_code=500,
            )
        response = JSONResponse({"url": obs_url(request, token)})
        port = request.scope["server"][1]
        response.raw_headers.append((b"set-cookie", session_cookie(port, token)))
        return response

    return [Route("/obs", link), Route("/obs/token", renew, methods=["POST"])]
