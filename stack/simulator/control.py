"""The simulator's own endpoints (/_sim/...): scenarios, the record of accepted messages, callback
deliveries, and injected inbound patient messages."""
from __future__ import annotations

import secrets
import time
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schemas.phi import is_e164, normalize_address
from stack.simulator import meta_api
from stack.simulator.state import SimState
from stack.simulator.store import twilio_sid


def _state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


async def get_scenario(request: Request) -> Response:
    return JSONResponse(_jsonable(asdict(_state(request).scenario)))


async def put_scenario(request: Request) -> Response:
    raw = await request.json()
    if not isinstance(raw, dict):
        raise ValueError("a scenario is a JSON object")
    scenario = _state(request).install(raw)
    return JSONResponse(_jsonable(asdict(scenario)))


async def reset_scenario(request: Request) -> Response:
    _state(request).install({})
    return Response(status_code=204)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


async def list_messages(request: Request) -> Response:
    q = request.query_params
    to = q.get("to")
    records = _state(request).store.find(
        to=normalize_address(to) if to else None, attempt_id=q.get("attempt_id"), message_id=q.get("message_id"),
        provider=q.get("provider"), channel=q.get("channel"))
    return JSONResponse({"messages": [r.public() for r in records], "count": len(records)})


async def clear_messages(request: Request) -> Response:
    state = _state(request)
    state.store.clear()
    state.dispatcher.reset()
    return Response(status_code=204)


async def list_callbacks(request: Request) -> Response:
    state = _state(request)
    sid = request.query_params.get("provider_message_id")
    found = [asdict(d) for d in state.dispatcher.deliveries if sid is None or d.provider_message_id == sid]
    return JSONResponse({"callbacks": found, "pending": state.dispatcher.pending})


async def idle(request: Request) -> Response:
    """Waits (up to ?timeout= seconds, default 5) until no callback is pending."""
    state = _state(request)
    done = await state.dispatcher.wait_idle(float(request.query_params.get("timeout", "5")))
    return JSONResponse({"idle": done, "pending": state.dispatcher.pending}, status_code=200 if done else 408)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "pending": _state(request).dispatcher.pending})


async def inbound(request: Request) -> Response:
    """{provider: twilio|meta|d360, from, to?, channel?: SMS|WHATSAPP, text?, button_payload?,
    button_text?, interactive?: bool, context_id?}: sends the signed webhook the provider would."""
    state = _state(request)
    raw = await request.json()
    provider = str(raw.get("provider", "twilio"))
    sender = normalize_address(str(raw.get("from", "")))
    if not is_e164(sender):
        raise ValueError("'from' must be an E.164 number")
    if raw.get("text") is None and raw.get("button_payload") is None:
        raise ValueError("give 'text' or 'button_payload'")
    if provider == "twilio":
        sid, code = await _twilio_inbound(state, raw, sender)
    elif provider in ("meta", "d360"):
        sid, code = await _meta_inbound(state, raw, sender, provider)
    else:
        raise ValueError(f"unknown provider {provider!r}")
    return JSONResponse({"provider_message_id": sid, "http_status": code}, status_code=200 if code else 502)


def _last_to(state: SimState, provider: str, to: str, channel: str) -> str | None:
    sent = state.store.find(to=to, provider=provider, channel=channel)
    return sent[-1].sid if sent else None


async def _twilio_inbound(state: SimState, raw: dict[str, Any], sender: str) -> tuple[str, int | None]:
    cfg = state.config
    to_raw = str(raw.get("to", ""))
    channel = str(raw.get("channel") or ("WHATSAPP" if to_raw.startswith("whatsapp:") else "SMS")).upper()
    prefix = "whatsapp:" if channel == "WHATSAPP" else ""
    to = normalize_address(to_raw)
    sid = twilio_sid("SM")
    form = {
        "ToCountry": "US", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "", "FromZip": "",
        "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "", "FromCountry": "",
        "To": prefix + to, "ToZip": "", "NumSegments": "1", "MessageSid": sid, "AccountSid": cfg.account_sid,
        "From": prefix + sender, "ApiVersion": "2010-04-01", "Body": str(raw.get("text") or ""),
    }
    if channel == "WHATSAPP":
        form.update({"ProfileName": "Paciente", "WaId": sender.lstrip("+"), "MessageType": "text"})
        if raw.get("button_payload") is not None:
            context = raw.get("context_id") or _last_to(state, "twilio", sender, "WHATSAPP")
            form.update({"MessageType": "button", "ButtonPayload": str(raw["button_payload"]),
                         "ButtonText": str(raw.get("button_text") or raw["button_payload"]),
                         "Body": str(raw.get("button_text") or raw["button_payload"])})
            if context:
                form.update({"OriginalRepliedMessageSid": str(context),
                             "OriginalRepliedMessageSender": prefix + to})
    code = await state.dispatcher.post_twilio(cfg.twilio_inbound, form, kind="inbound", sid=sid, status=None)
    return sid, code


async def _meta_inbound(state: SimState, raw: dict[str, Any], sender: str, provider: str) -> tuple[str, int | None]:
    cfg = state.config
    phone_number_id = str(raw.get("to") or (cfg.d360_phone_number_id if provider == "d360"
                                             else cfg.meta_phone_number_id))
    sid = "wamid." + secrets.token_urlsafe(30)
    message: dict[str, Any] = {"from": sender.lstrip("+"), "id": sid, "timestamp": str(int(time.time()))}
    payload = raw.get("button_payload")
    if payload is None:
        message.update({"type": "text", "text": {"body": str(raw["text"])}})
    elif raw.get("interactive"):
        reply = {"id": str(payload), "title": str(raw.get("button_text") or payload)}
        message.update({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": reply}})
    else:
        message.update({"type": "button", "button": {"payload": str(payload),
                                                     "text": str(raw.get("button_text") or payload)}})
    context = raw.get("context_id") or (_last_to(state, provider, sender, "WHATSAPP") if payload is not None else None)
    if context:
        message["context"] = {"from": cfg.meta_display_phone_number, "id": str(context)}
    body = meta_api.envelope(state, phone_number_id, {
        "contacts": [{"profile": {"name": "Paciente"}, "wa_id": sender.lstrip("+")}], "messages": [message]})
    code = await state.dispatcher.post_meta(cfg.meta_webhook, body, provider=provider, kind="inbound", sid=sid,
                                            status=None)
    return sid, code


ROUTES = [
    Route("/_sim/health", health, methods=["GET"]),
    Route("/_sim/scenarios", get_scenario, methods=["GET"]),
    Route("/_sim/scenarios", put_scenario, methods=["POST", "PUT"]),
    Route("/_sim/scenarios", reset_scenario, methods=["DELETE"]),
    Route("/_sim/messages", list_messages, methods=["GET"]),
    Route("/_sim/messages", clear_messages, methods=["DELETE"]),
    Route("/_sim/callbacks", list_callbacks, methods=["GET"]),
    Route("/_sim/idle", idle, methods=["GET"]),
    Route("/_sim/inbound", inbound, methods=["POST"]),
]
