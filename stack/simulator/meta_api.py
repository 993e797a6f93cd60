"""The WhatsApp Cloud API send endpoint (Meta: POST /{version}/{phone_number_id}/messages with a bearer
token; 360dialog: POST /messages with D360-API-KEY) and the status webhooks that follow."""
from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.base import decode_refs
from schemas.errors import UnknownTemplateError
from schemas.phi import is_e164, normalize_address
from schemas.templates import default_catalog
from stack.simulator.scenarios import ERROR_TITLES, Accepted, SyncError, decide
from stack.simulator.state import SimState
from stack.simulator.store import Record, wamid

MAX_BUTTONS = 3
MAX_TITLE = 20
STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


def _state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


def graph_error(code: int, http_status: int, message: str | None = None) -> JSONResponse:
    title = message or ERROR_TITLES.get(code, "Error")
    return JSONResponse({"error": {
        "message": f"(#{code}) {title}", "type": "OAuthException", "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": title},
        "fbtrace_id": "A" + secrets.token_hex(11),
    }}, status_code=http_status)


def _validate(body: Any) -> tuple[str, str | None, str | None, list[str]] | JSONResponse:
    """(kind, template, language, button payloads), or the Graph error a malformed body gets."""
    if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
        return graph_error(100, 400, "The parameter messaging_product is required.")
    if not str(body.get("to", "")).strip():
        return graph_error(100, 400, "The parameter to is required.")
    mtype = body.get("type", "text")
    part = body.get(mtype)
    if not isinstance(part, dict):
        return graph_error(100, 400, f"The parameter {mtype} is required.")
    if mtype == "text":
        if not part.get("body"):
            return graph_error(100, 400, "The parameter text['body'] is required.")
        return "text", None, None, []
    if mtype == "template":
        name, lang = part.get("name"), (part.get("language") or {}).get("code")
        if not name or not lang:
            return graph_error(100, 400, "The parameter template['name'] and ['language'] are required.")
        payloads = [p.get("payload", "") for c in part.get("components", []) if c.get("type") == "button"
                    for p in c.get("parameters", [])]
        return "template", str(name), str(lang), payloads
    if mtype == "interactive":
        buttons = ((part.get("action") or {}).get("buttons")) or []
        if part.get("type") != "button" or not 1 <= len(buttons) <= MAX_BUTTONS:
            return graph_error(131009, 400, "Interactive buttons must be between 1 and 3.")
        if any(len(b.get("reply", {}).get("title", "")) > MAX_TITLE for b in buttons):
            return graph_error(131009, 400, "Button title length invalid.")
        return "interactive", None, None, [b.get("reply", {}).get("id", "") for b in buttons]
    return graph_error(131051, 400)


async def _send(request: Request, provider: str, phone_number_id: str) -> Response:
    state = _state(request)
    try:
        body = await request.json()
    except ValueError:
        return graph_error(100, 400, "Invalid JSON")
    await asyncio.sleep(state.scenario.latency_ms / 1000)
    checked = _validate(body)
    if isinstance(checked, JSONResponse):
        return checked
    kind, template, language, payloads = checked
    to = normalize_address(str(body["to"]))
    if not is_e164(to):
        return graph_error(131009, 400, "Parameter value is not valid")
    outcome = decide(state.scenario, provider, "WHATSAPP", to, state.now(), state.rng)
    if isinstance(outcome, SyncError):
        return graph_error(outcome.code, outcome.http_status, outcome.title)
    refs = decode_refs(body.get("biz_opaque_callback_data"))
    text = (body.get("text") or {}).get("body") or ((body.get("interactive") or {}).get("body") or {}).get("text")
    record = state.store.add(Record(
        sid=wamid(), provider=provider, channel="WHATSAPP", kind=kind, to=to, sender=phone_number_id,
        created_at=time.time(), status="accepted", body=text, template=template, language=language,
        payloads=payloads, org=refs.get("org"), message_id=refs.get("message_id"),
        attempt_id=refs.get("attempt_id"), callback_url=state.config.meta_webhook,
    ))
    state.dispatcher.spawn(_run(state, record, outcome, body.get("biz_opaque_callback_data")))
    return JSONResponse({
        "messaging_product": "whatsapp",
        "contacts": [{"input": str(body["to"]), "wa_id": to.lstrip("+")}],
        "messages": [{"id": record.sid, **({"message_status": "accepted"} if kind == "template" else {})}],
    })


def _category(record: Record) -> tuple[str, bool]:
    if record.kind != "template" or record.template is None:
        return "service", False  # free-form inside the customer-service window: not billed
    try:
        return default_catalog().get(record.template).category.lower(), True
    except UnknownTemplateError:
        return "utility", True


def status_webhook(state: SimState, record: Record, status: str, code: int | None, opaque: str | None,
                   with_pricing: bool) -> dict[str, Any]:
    now = int(time.time())
    item: dict[str, Any] = {"id": record.sid, "status": status, "timestamp": str(now),
                            "recipient_id": record.to.lstrip("+")}
    if opaque:
        item["biz_opaque_callback_data"] = opaque
    if with_pricing:
        category, billable = _category(record)
        item["conversation"] = {"id": secrets.token_hex(16), "expiration_timestamp": str(now + 86400),
                                "origin": {"type": category}}
        item["pricing"] = {"billable": billable, "pricing_model": "PMP",
                           "type": "regular" if billable else "free_customer_service", "category": category}
    if code is not None:
        title = ERROR_TITLES.get(code, "Error")
        item["errors"] = [{"code": code, "title": title, "message": title, "error_data": {"details": title},
                           "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]
    return envelope(state, record.sender, {"statuses": [item]})


def envelope(state: SimState, phone_number_id: str, value: dict[str, Any]) -> dict[str, Any]:
    cfg = state.config
    return {"object": "whatsapp_business_account", "entry": [{
        "id": "102290129340398",
        "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": cfg.meta_display_phone_number, "phone_number_id": phone_number_id},
            **value,
        }}],
    }]}


async def _run(state: SimState, record: Record, outcome: Accepted, opaque: str | None) -> None:
    priced_after_send = False
    for step in outcome.steps:
        await asyncio.sleep(step.delay_s)
        if STATUS_RANK.get(step.status, 0) >= STATUS_RANK.get(record.status, 0):
            state.store.update(record.sid, step.status, step.code)
        # Meta attaches conversation and pricing to `sent` and to one of delivered/read
        later = step.status in ("delivered", "read") and not priced_after_send
        priced_after_send = priced_after_send or later
        with_pricing = step.status == "sent" or later
        if not step.notify:
            continue
        body = status_webhook(state, record, step.status, step.code, opaque, with_pricing)
        await state.dispatcher.post_meta(state.config.meta_webhook, body, provider=record.provider, kind="status",
                                         sid=record.sid, status=step.status)


async def meta_send(request: Request) -> Response:
    state = _state(request)
    expected = f"Bearer {state.config.meta_access_token}"
    if request.headers.get("authorization") != expected:
        return graph_error(190, 401)
    phone_number_id = request.path_params["phone_number_id"]
    if phone_number_id != state.config.meta_phone_number_id:
        return graph_error(100, 400, "Unsupported post request. Object does not exist.")
    return await _send(request, "meta", phone_number_id)


async def d360_send(request: Request) -> Response:
    state = _state(request)
    if request.headers.get("d360-api-key") != state.config.d360_api_key:
        return JSONResponse({"meta": {"success": False, "http_code": 401, "developer_message": "Invalid api key"}},
                            status_code=401)
    return await _send(request, "d360", state.config.d360_phone_number_id)


ROUTES = [
    Route("/messages", d360_send, methods=["POST"]),
    Route("/{version}/{phone_number_id}/messages", meta_send, methods=["POST"]),
]
