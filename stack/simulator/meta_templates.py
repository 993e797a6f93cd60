"""Meta's message template API (POST/GET /{version}/{waba_id}/message_templates, an edit by POST
/{version}/{template_id}) and its review webhook.

A submitted template is PENDING; after `SimulatorConfig.template_review_s` the simulator posts the
`message_template_status_update` webhook, signed like every Meta webhook: REJECTED (reason
INVALID_FORMAT) when the name contains "reject", APPROVED otherwise.
"""
from __future__ import annotations

import asyncio
import re
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.meta.templates import FIELD
from stack.simulator.meta_api import graph_error
from stack.simulator.state import SimState

NAME = re.compile(r"^[a-z0-9_]{1,512}$")  # Meta: lowercase letters, digits and underscores
CATEGORIES = ("UTILITY", "MARKETING", "AUTHENTICATION")


def _state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


def _allowed(request: Request, state: SimState) -> Response | None:
    if request.headers.get("authorization") != f"Bearer {state.config.meta_access_token}":
        return graph_error(190, 401)
    if request.path_params["waba_id"] != state.config.meta_waba_id:
        return graph_error(100, 400, "Unsupported post request. Object does not exist.")
    return None


def review_webhook(state: SimState, template: dict[str, Any], event: str, reason: str) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{
        "id": state.config.meta_waba_id, "time": int(time.time()),
        "changes": [{"field": FIELD, "value": {
            "event": event, "message_template_id": int(template["id"]),
            "message_template_name": template["name"], "message_template_language": template["language"],
            "reason": reason, "message_template_category": template["category"],
        }}],
    }]}


async def _review(state: SimState, template: dict[str, Any]) -> None:
    await asyncio.sleep(state.config.template_review_s)
    rejected = "reject" in template["name"]
    event, reason = ("REJECTED", "INVALID_FORMAT") if rejected else ("APPROVED", "NONE")
    template["status"] = event
    await state.dispatcher.post_meta(state.config.meta_webhook, review_webhook(state, template, event, reason),
                                     provider="meta", kind="template_status", sid=template["id"], status=event)


async def create(request: Request) -> Response:
    state = _state(request)
    refused = _allowed(request, state)
    if refused is not None:
        return refused
    try:
        body = await request.json()
    except ValueError:
        return graph_error(100, 400, "Invalid JSON")
    if not isinstance(body, dict):
        return graph_error(100, 400, "Invalid parameter")
    name, language, category = body.get("name"), body.get("language"), body.get("category")
    components = body.get("components")
    if not isinstance(name, str) or not NAME.match(name):
        return graph_error(100, 400, "Invalid parameter: name")
    if not isinstance(language, str) or not language:
        return graph_error(100, 400, "Invalid parameter: language")
    if category not in CATEGORIES:
        return graph_error(100, 400, "Invalid parameter: category")
    if not isinstance(components, list) or not any(isinstance(c, dict) and c.get("type") == "BODY"
                                                   and c.get("text") for c in components):
        return graph_error(100, 400, "Invalid parameter: components")
    if any(t["name"] == name and t["language"] == language for t in state.templates.values()):
        return graph_error(100, 400, "Message template already exists in this language")
    template_id = str(10**15 + secrets.randbelow(10**15))
    template = {"id": template_id, "name": name, "language": language, "category": category,
                "components": components, "status": "PENDING"}
    state.templates[template_id] = template
    state.dispatcher.spawn(_review(state, template))
    return JSONResponse({"id": template_id, "status": "PENDING", "category": category})


async def edit(request: Request) -> Response:
    state = _state(request)
    if request.headers.get("authorization") != f"Bearer {state.config.meta_access_token}":
        return graph_error(190, 401)
    template = state.templates.get(str(request.path_params["template_id"]))
    if template is None:
        return graph_error(100, 400, "Unsupported post request. Object does not exist.")
    try:
        body = await request.json()
    except ValueError:
        return graph_error(100, 400, "Invalid JSON")
    components = body.get("components") if isinstance(body, dict) else None
    if not isinstance(components, list) or not components:
        return graph_error(100, 400, "Invalid parameter: components")
    template.update(components=components, status="PENDING")
    state.dispatcher.spawn(_review(state, template))
    return JSONResponse({"success": True})


async def listing(request: Request) -> Response:
    state = _state(request)
    refused = _allowed(request, state)
    if refused is not None:
        return refused
    return JSONResponse({"data": list(state.templates.values())})


ROUTES = [
    Route("/{version}/{waba_id}/message_templates", create, methods=["POST"]),
    Route("/{version}/{waba_id}/message_templates", listing, methods=["GET"]),
    Route("/{version}/{template_id:int}", edit, methods=["POST"]),  # digits only: no other route's shape
]
