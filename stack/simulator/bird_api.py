"""Bird's Channels API send endpoint, `POST /workspaces/{workspaceId}/channels/{channelId}/messages`
(`Authorization: AccessKey <key>`), and the signed `<channel>.outbound` status events that follow.

The channel's platform (sms or whatsapp) is read from the channel id: one starting `wa-` is a WhatsApp
channel, any other an SMS channel. Outcomes by the receiver's last digits: ...9990 `429`
(`TooManyRequests`), ...9992 `delivery_failed` after `sent`; a receiver that is not E.164 is `422`
(`InvalidPayload`); a template without `projectId` is `422` too.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.bird.signature import HEADER, TIMESTAMP_HEADER, sign
from connectors.bird.webhooks import PATH
from schemas.phi import is_e164
from stack.simulator.state import SimState
from stack.simulator.store import Record

THROTTLED, FAILING = "9990", "9992"


def _state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


def _error(code: str, status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def platform_of(channel_id: str) -> str:
    return "whatsapp" if channel_id.startswith("wa-") else "sms"


def event(message: dict[str, Any], status: str, reason: str = "") -> dict[str, Any]:
    """A `<platform>.outbound` event carrying the message at `status`."""
    payload = {**message, "status": status, "updatedAt": _now(), **({"reason": reason} if reason else {})}
    return {"service": "channels", "event": f"{platform_of(str(message['channelId']))}.outbound", "payload": payload}


async def _statuses(state: SimState, message: dict[str, Any], failed: bool) -> None:
    url = state.config.gateway_url.rstrip("/") + PATH
    key = state.config.bird_signing_key.encode()
    steps = [("sent", ""), ("delivery_failed", "undeliverable") if failed else ("delivered", "")]
    for status, reason in steps:
        await asyncio.sleep(state.config.bird_status_delay_s)
        state.store.update(str(message["id"]), "failed" if failed and status != "sent" else status)
        raw = json.dumps(event(message, status, reason), separators=(",", ":")).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp, HEADER: sign(key, stamp, url, raw)}
        await state.dispatcher.post_raw(url, raw, headers, provider="bird", kind="status", sid=str(message["id"]),
                                        status=status)


async def send(request: Request) -> Response:
    state = _state(request)
    if request.headers.get("authorization") != f"AccessKey {state.config.bird_access_key}":
        return _error("Unauthorized", 401, "invalid access key")
    workspace, channel_id = request.path_params["workspace"], request.path_params["channel"]
    if workspace != state.config.bird_workspace_id:
        return _error("NotFound", 404, "workspace not found")
    body = await request.json()
    contacts = ((body.get("receiver") or {}).get("contacts") or []) if isinstance(body, dict) else []
    to = str(contacts[0].get("identifierValue") or "") if contacts and isinstance(contacts[0], dict) else ""
    if not is_e164(to):
        return _error("InvalidPayload", 422, "receiver.contacts[0].identifierValue: not a phone number")
    template, content = body.get("template"), body.get("body")
    if template is not None and not (isinstance(template, dict) and template.get("projectId")):
        return _error("InvalidPayload", 422, "template.projectId: required")
    if template is None and not (isinstance(content, dict) and content.get("type") == "text"
                                 and (content.get("text") or {}).get("text")):
        return _error("InvalidPayload", 422, "body.text.text: required")
    if to.endswith(THROTTLED):
        return _error("TooManyRequests", 429, "rate limit exceeded")
    message_id = str(uuid.uuid4())
    platform = platform_of(channel_id)
    message = {"id": message_id, "channelId": channel_id, "receiver": {"contacts": [{"identifierValue": to}]},
               "reference": str(body.get("reference") or ""), "status": "accepted", "createdAt": _now()}
    text = (content or {}).get("text", {}).get("text") if template is None else None
    state.store.add(Record(message_id, "bird", "WHATSAPP" if platform == "whatsapp" else "SMS",
                           "template" if template is not None else "text", to, channel_id, time.time(), "accepted",
                           body=text, template=str(template["projectId"]) if template else None,
                           language=str(template.get("locale")) if template else None))
    state.dispatcher.spawn(_statuses(state, message, to.endswith(FAILING)))
    return JSONResponse({**message, "updatedAt": message["createdAt"]}, status_code=202)


ROUTES = [Route("/workspaces/{workspace}/channels/{channel}/messages", send, methods=["POST"])]
