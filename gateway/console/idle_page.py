""""Stay signed in": the idle warning's button (static/idle.js). A form POST like any other (CSRF checked),
so it restarts the idle clock exactly as a page would; it answers 204, and the page stays as it was."""
from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from gateway.console.web import Viewer, page


@page(None, form=True)
async def stay(request: Request, viewer: Viewer, data: FormData) -> Response:
    return Response(status_code=204)
