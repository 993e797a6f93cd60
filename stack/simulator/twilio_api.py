"""The subset of Twilio's REST API (2010-04-01) that the twilio SDK calls for carelay, plus the status,
call-progress and gather callbacks Twilio would send afterwards."""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import html
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.base import decode_refs
from schemas.phi import is_e164, normalize_address
from stack.simulator.scenarios import ERROR_TITLES, Accepted, Step, SyncError, decide
from stack.simulator.state import SimState
from stack.simulator.store import Record, rfc2822, twilio_sid

API = "/2010-04-01/Accounts/{account_sid}"
STATUS_RANK = {"accepted": 0, "queued": 1, "sending": 2, "sent": 3, "delivered": 4, "read": 5,
               "undelivered": 6, "failed": 6, "canceled": 6}
CALL_RANK = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3, "completed": 4, "busy": 4,
             "no-answer": 4, "failed": 4, "canceled": 4}
_GATHER_ACTION = re.compile(r"<Gather\b[^>]*\baction=\"([^\"]+)\"")


def _state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


def twilio_error(code: int, http_status: int, message: str | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message or ERROR_TITLES.get(code, "Error"),
                         "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": http_status},
                        status_code=http_status)


def _authorized(request: Request, state: SimState) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    cfg = state.config
    return user == cfg.account_sid and password == cfg.auth_token and \
        request.path_params["account_sid"] == cfg.account_sid


async def _form(request: Request) -> dict[str, str]:
    # urlencoded bodies only (all the SDK sends); parsed here so python-multipart is not needed
    return dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))


def _channel(address: str) -> str:
    return "WHATSAPP" if address.startswith("whatsapp:") else "SMS"


def message_json(r: Record, account_sid: str) -> dict[str, Any]:
    prefix = "whatsapp:" if r.channel == "WHATSAPP" else ""
    uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{r.sid}.json"
    return {
        "account_sid": account_sid, "api_version": "2010-04-01", "body": r.body or "",
        "date_created": rfc2822(r.created_at), "date_sent": rfc2822(r.sent_at), "date_updated": rfc2822(r.updated_at),
        "direction": "outbound-api", "error_code": r.error_code,
        "error_message": ERROR_TITLES.get(r.error_code) if r.error_code else None,
        "from": prefix + r.sender, "messaging_service_sid": r.messaging_service_sid, "num_media": "0",
        "num_segments": "1",
        "price": "-0.00790" if r.status in ("sent", "delivered", "read") else None, "price_unit": "USD",
        "sid": r.sid, "status": r.status, "to": prefix + r.to, "uri": uri,
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
    }


def call_json(r: Record, account_sid: str) -> dict[str, Any]:
    return {
        "account_sid": account_sid, "api_version": "2010-04-01", "sid": r.sid, "status": r.status,
        "date_created": rfc2822(r.created_at), "date_updated": rfc2822(r.updated_at),
        "start_time": rfc2822(r.sent_at), "end_time": None, "direction": "outbound-api",
        "from": r.sender, "from_formatted": r.sender, "to": r.to, "to_formatted": r.to,
        "price": None, "price_unit": "USD", "duration": None, "answered_by": None, "parent_call_sid": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Calls/{r.sid}.json", "subresource_uris": {},
    }


def sticky_sender(pool: tuple[str, ...], to: str) -> str:
    """Twilio's sticky sender: one recipient always hears from the same number of the pool."""
    return pool[int(hashlib.sha256(to.encode()).hexdigest(), 16) % len(pool)]


async def create_message(request: Request) -> Response:
    state = _state(request)
    if not _authorized(request, state):
        return twilio_error(20003, 401)
    form = await _form(request)
    await asyncio.sleep(state.scenario.latency_ms / 1000)
    to_address, from_address = form.get("To", ""), form.get("From", "")
    if not to_address:
        return twilio_error(21604, 400, "A 'To' phone number is required.")
    if not from_address and not form.get("MessagingServiceSid"):
        return twilio_error(21603, 400, "A 'From' phone number is required.")
    if not form.get("Body") and not form.get("ContentSid") and not form.get("MediaUrl"):
        return twilio_error(21602, 400, "Message body is required.")
    channel = _channel(to_address)
    to = normalize_address(to_address)
    service = form.get("MessagingServiceSid") or None
    if service is not None and not from_address:
        pool = state.config.messaging_services.get(service)
        if not pool:
            return twilio_error(21701, 400, "The Messaging Service does not exist")
        from_address = ("whatsapp:" if channel == "WHATSAPP" else "") + sticky_sender(pool, to)
    if not is_e164(to) or (channel == "WHATSAPP") != from_address.startswith("whatsapp:"):
        return twilio_error(21211, 400)
    outcome = decide(state.scenario, "twilio", channel, to, state.now(), state.rng)
    if isinstance(outcome, SyncError):
        return twilio_error(outcome.code, outcome.http_status, outcome.title)
    callback = form.get("StatusCallback") or None
    refs = decode_refs(urlsplit(callback).query) if callback else {}
    record = state.store.add(Record(
        sid=twilio_sid("SM"), provider="twilio", channel=channel,
        kind="content" if form.get("ContentSid") else "text", to=to, sender=normalize_address(from_address),
        created_at=time.time(), status="queued", body=form.get("Body"), content_sid=form.get("ContentSid"),
        content_variables=form.get("ContentVariables"), callback_url=callback,
        org=refs.get("org"), message_id=refs.get("message_id"), attempt_id=refs.get("attempt_id"),
        messaging_service_sid=service,
    ))
    state.dispatcher.spawn(_run_message(state, record, outcome))
    return JSONResponse(message_json(record, state.config.account_sid), status_code=201)


def _advance(state: SimState, record: Record, step: Step, rank: dict[str, int]) -> None:
    # the resource shows the furthest status even when callbacks are sent out of order
    if rank.get(step.status, 0) >= rank.get(record.status, 0):
        state.store.update(record.sid, step.status, step.code)
    elif step.code is not None:
        record.error_code = step.code


async def _run_message(state: SimState, record: Record, outcome: Accepted) -> None:
    for step in outcome.steps:
        await asyncio.sleep(step.delay_s)
        _advance(state, record, step, STATUS_RANK)
        if not record.callback_url or not step.notify:
            continue
        prefix = "whatsapp:" if record.channel == "WHATSAPP" else ""
        form = {
            "AccountSid": state.config.account_sid, "ApiVersion": "2010-04-01",
            "From": prefix + record.sender, "To": prefix + record.to,
            "MessageSid": record.sid, "SmsSid": record.sid,
            "MessageStatus": step.status, "SmsStatus": step.status,
        }
        if step.code is not None:
            form["ErrorCode"] = str(step.code)
        if record.channel == "WHATSAPP":
            form.update({"ChannelPrefix": "whatsapp", "ChannelToAddress": record.to,
                         "ChannelInstallSid": "XE" + "0" * 32, "StructuredMessage": "false"})
        await state.dispatcher.post_twilio(record.callback_url, form, kind="status", sid=record.sid,
                                           status=step.status)


async def fetch_message(request: Request) -> Response:
    state = _state(request)
    if not _authorized(request, state):
        return twilio_error(20003, 401)
    record = state.store.get(request.path_params["sid"])
    if record is None or record.channel == "VOICE":
        return twilio_error(20404, 404, "The requested resource was not found")
    return JSONResponse(message_json(record, state.config.account_sid))


def _date_filter(value: str) -> tuple[datetime, bool]:
    """A Twilio date filter value: a date (day granularity) or a full ISO 8601 time."""
    if "T" in value:
        return datetime.fromisoformat(value.replace("Z", "+00:00")), False
    return datetime.fromisoformat(value).replace(tzinfo=UTC), True


def _passes_date(sent_at: float | None, query: Any, key: str) -> bool:
    checks = [(key, "eq"), (f"{key}>", "ge"), (f"{key}<", "le")]
    for param, op in checks:
        value = query.get(param)
        if not value:
            continue
        if sent_at is None:
            return False
        bound, whole_day = _date_filter(value)
        when = datetime.fromtimestamp(sent_at, UTC)
        left: Any = when.date() if whole_day else when
        right: Any = bound.date() if whole_day else bound
        if (op == "eq" and left != right) or (op == "ge" and left < right) or (op == "le" and left > right):
            return False
    return True


def _page(request: Request, records: list[Record], key: str, to_json: Any) -> JSONResponse:
    state = _state(request)
    q = request.query_params
    size = max(1, min(1000, int(q.get("PageSize", "50"))))
    page = max(0, int(q.get("Page", "0")))
    newest_first = sorted(records, key=lambda r: r.created_at, reverse=True)
    chunk = newest_first[page * size:(page + 1) * size]
    base = request.url.path
    keep = "&".join(f"{k}={v}" for k, v in q.items() if k not in ("Page", "PageSize", "PageToken"))
    more = (page + 1) * size < len(newest_first)
    return JSONResponse({
        key: [to_json(r, state.config.account_sid) for r in chunk],
        "end": page * size + max(0, len(chunk) - 1), "first_page_uri": f"{base}?PageSize={size}&Page=0",
        "next_page_uri": f"{base}?{keep}&PageSize={size}&Page={page + 1}&PageToken=PA{page + 1}" if more else None,
        "page": page, "page_size": size, "previous_page_uri": None, "start": page * size, "uri": str(request.url.path),
    })


async def list_messages(request: Request) -> Response:
    state = _state(request)
    if not _authorized(request, state):
        return twilio_error(20003, 401)
    q = request.query_params
    to, sender = q.get("To"), q.get("From")
    records = [
        r for r in state.store.all()
        if r.provider == "twilio" and r.channel != "VOICE"
        and (to is None or (normalize_address(to) == r.to and _channel(to) == r.channel))
        and (sender is None or normalize_address(sender) == r.sender)
        and _passes_date(r.sent_at, q, "DateSent")
    ]
    return _page(request, records, "messages", message_json)


async def create_call(request: Request) -> Response:
    state = _state(request)
    if not _authorized(request, state):
        return twilio_error(20003, 401)
    form = await _form(request)
    await asyncio.sleep(state.scenario.latency_ms / 1000)
    to, sender = form.get("To", ""), form.get("From", "")
    if not is_e164(to):
        return twilio_error(21211, 400)
    if not sender:
        return twilio_error(21213, 400, "Caller phone number is required")
    if not form.get("Twiml") and not form.get("Url") and not form.get("ApplicationSid"):
        return twilio_error(21205, 400, "Url parameter is required.")
    outcome = decide(state.scenario, "twilio", "VOICE", to, state.now(), state.rng)
    if isinstance(outcome, SyncError):
        return twilio_error(outcome.code, outcome.http_status, outcome.title)
    callback = form.get("StatusCallback") or None
    twiml = form.get("Twiml")
    action = _GATHER_ACTION.search(twiml or "")
    refs = decode_refs(urlsplit(callback or (html.unescape(action.group(1)) if action else "")).query)
    record = state.store.add(Record(
        sid=twilio_sid("CA"), provider="twilio", channel="VOICE", kind="call", to=to, sender=sender,
        created_at=time.time(), status="queued", twiml=twiml, callback_url=callback,
        org=refs.get("org"), message_id=refs.get("message_id"), attempt_id=refs.get("attempt_id"),
    ))
    state.dispatcher.spawn(_run_call(state, record, outcome))
    return JSONResponse(call_json(record, state.config.account_sid), status_code=201)


async def _run_call(state: SimState, record: Record, outcome: Accepted) -> None:
    cfg = state.config
    base = {"AccountSid": cfg.account_sid, "ApiVersion": "2010-04-01", "CallSid": record.sid,
            "Called": record.to, "Caller": record.sender, "Direction": "outbound-api",
            "From": record.sender, "To": record.to}
    for step in outcome.steps:
        await asyncio.sleep(step.delay_s)
        action = _GATHER_ACTION.search(record.twiml or "")
        if step.status == "completed" and action and outcome.digits:
            state.store.update(record.sid, "in-progress")
            record.sent_at = record.sent_at or time.time()
            gather = {**base, "CallStatus": "in-progress", "Digits": outcome.digits, "FinishedOnKey": "",
                      "msg": "Gather End"}
            await state.dispatcher.post_twilio(html.unescape(action.group(1)), gather, kind="gather",
                                               sid=record.sid, status="gather")
        _advance(state, record, step, CALL_RANK)
        if record.callback_url and step.notify:
            form = {**base, "CallStatus": step.status, "Timestamp": rfc2822(time.time()) or "",
                    "CallbackSource": "call-progress-events", "SequenceNumber": "0",
                    "CallDuration": "12" if step.status == "completed" else "0"}
            if step.code is not None:
                form["ErrorCode"] = str(step.code)
            await state.dispatcher.post_twilio(record.callback_url, form, kind="call_status", sid=record.sid,
                                               status=step.status)


async def fetch_call(request: Request) -> Response:
    state = _state(request)
    if not _authorized(request, state):
        return twilio_error(20003, 401)
    record = state.store.get(request.path_params["sid"])
    if record is None or record.channel != "VOICE":
        return twilio_error(20404, 404, "The requested resource was not found")
    return JSONResponse(call_json(record, state.config.account_sid))


async def list_calls(request: Request) -> Response:
    state = _state(request)
    if not _authorized(request, state):
        return twilio_error(20003, 401)
    q = request.query_params
    to, sender = q.get("To"), q.get("From")
    records = [r for r in state.store.all() if r.channel == "VOICE"
               and (to is None or normalize_address(to) == r.to)
               and (sender is None or normalize_address(sender) == r.sender)]
    return _page(request, records, "calls", call_json)


ROUTES = [
    Route(f"{API}/Messages.json", create_message, methods=["POST"]),
    Route(f"{API}/Messages.json", list_messages, methods=["GET"]),
    Route(API + "/Messages/{sid}.json", fetch_message, methods=["GET"]),
    Route(f"{API}/Calls.json", create_call, methods=["POST"]),
    Route(f"{API}/Calls.json", list_calls, methods=["GET"]),
    Route(API + "/Calls/{sid}.json", fetch_call, methods=["GET"]),
]
