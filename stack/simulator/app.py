"""The simulator's Starlette application."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from stack.simulator import bird_api, control, meta_api, meta_templates, sns_api, twilio_api
from stack.simulator.state import SimState, SimulatorConfig


async def _bad_request(request: Request, exc: Exception) -> JSONResponse:
    # our own validation messages and JSON/scenario errors; never echoes request values
    text = str(exc) if isinstance(exc, ValueError | TypeError) and not isinstance(exc, json.JSONDecodeError) else ""
    return JSONResponse({"error": text or type(exc).__name__}, status_code=400)


def create_app(config: SimulatorConfig | None = None) -> Starlette:
    state = SimState(config or SimulatorConfig())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await state.dispatcher.aclose()

    app = Starlette(
        routes=[*control.ROUTES, *twilio_api.ROUTES, *meta_api.ROUTES, *meta_templates.ROUTES, *sns_api.ROUTES,
                *bird_api.ROUTES],
        exception_handlers={ValueError: _bad_request, TypeError: _bad_request},
        lifespan=lifespan,
    )
    app.state.sim = state
    return app
