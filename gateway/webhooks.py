"""Provider webhooks: verify the signature, wrap each item in a WebhookEnvelope, publish, answer fast.

Interpretation (statuses, replies, opt-outs) happens in the streams; the gateway only proves the
request came from the provider, seals the body, and keys it by the patient's pseudonym. A missing
or bad signature is a 403, counted and audited, and never becomes an event.

Envelope ids are derived from the request content (uuid5), so a provider's retry of the same POST
yields the same envelope id and the streams can drop it.
"""
from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from twilio.request_validator import get_signature_algorithm

from connectors.base import WEBHOOK_PATHS, decode_refs
from connectors.meta import SIGNATURE_HEADER, split_webhook, verify_signature
from gateway.audit import ALLOWED, Actor
from gateway.body import parse_form, parse_json, read_body
from gateway.errors import BadSignature, GatewayError, MalformedBody
from gateway.services import Services, refuse, remote_addr, route_of, services
from gateway.twilio_signature import form_signature_valid
from schemas.ids import uuid5_str
from schemas.numbers import patient_number
from schemas.phi import Binding

ENVELOPE_NAMESPACE = uuid.UUID("0b7c8e3a-2f4d-4d0e-a7f1-5e9b1c3d2a60")
TWILIO_SIGNATURE = "x-twilio-signature"
TWILIO_SIGNATURE_SETTINGS = "x-twilio-webhooks-signature-settings"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
VOICE_PATH = "/webhooks/twilio/voice"  # call status and Gather digits on one URL (kind from `Digits`)
LABEL = "webhooks.raw"


@dataclass(frozen=True)
class Item:
    kind: str
    fields: Mapping[str, Any]
    query: Mapping[str, str]
    organization_id: str | None
    patient: str | None  # E.164, or None when not a patient's number
    fallback_key: str


# -- pure helpers ----------------------------------------------------------------------------

def twilio_kind(path_kind: str, form: Mapping[str, str]) -> str:
    if path_kind == "voice":
        return "gather" if form.get("Digits") else "call_status"
    return path_kind


def twilio_parties(kind: str, form: Mapping[str, str]) -> tuple[str, str]:
    """(patient's address, our address) as Twilio spells them, by the kind of callback."""
    to, frm = form.get("To", ""), form.get("From", "")
    if kind == "inbound":
        return frm, to
    if kind in ("call_status", "gather"):
        outbound = str(form.get("Direction", "outbound")).startswith("outbound")
        return (to, frm) if outbound else (frm, to)
    return to, frm  # a status callback of a message we sent


def envelope_id(provider: str, kind: str, *parts: bytes) -> str:
    digest = hashlib.sha256(b"\x00".join(parts)).hexdigest()
    return uuid5_str(ENVELOPE_NAMESPACE, f"{provider}|{kind}|{digest}")


def signed_query(raw: bytes) -> str | None:
    """The query string as Twilio signed it (UTF-8), or None when it is not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def has_body_hash(query: str) -> bool:
    """A JSON webhook's URL names the body's hash (`bodySHA256`); one without it cannot be verified."""
    return any(name == "bodySHA256" and value for name, value in parse_qsl(query, keep_blank_values=True))


def twilio_url(public_url: str, path: str, query: str) -> str:
    """The URL Twilio called and signed: our public base, the path, and the query as received."""
    return f"{public_url}{path}?{query}" if query else f"{public_url}{path}"


# -- publishing ------------------------------------------------------------------------------

async def _publish(request: Request, svc: Services, provider: str, action: str, items: list[Item],
                   raw: bytes) -> None:
    topic = svc.topics.webhooks
    now_ms = int(time.time() * 1000)
    futures = []
    for n, item in enumerate(items):
        org = item.organization_id
        recipient_id = svc.pseudonymize(org, item.patient) if org and item.patient else None
        body = orjson.dumps(item.fields, option=orjson.OPT_SORT_KEYS)
        eid = envelope_id(provider, item.kind, raw, str(n).encode())
        record = {
            "envelope_id": eid,
            "provider": provider,
            "kind": item.kind,
            "recipient_id": recipient_id,
            "query": {k: str(v) for k, v in item.query.items()},
            # no organization field on an envelope: bound to its id alone (schemas.phi.RECORD_IDS)
            "body": svc.cipher.seal("body", body.decode(), Binding("", eid)),
            "received_at": now_ms,
        }
        futures.append(svc.publisher.submit(topic.name, recipient_id or item.fallback_key, topic.codec.encode(record)))
        svc.metrics.webhook_items(provider, item.kind).inc()
    orgs = {i.organization_id for i in items if i.organization_id}
    actor = Actor(provider, "provider", orgs.pop() if len(orgs) == 1 else None)
    resource, remote = route_of(request), remote_addr(request)
    if not items:  # no envelope is its trail: audited on its own, as before, and waited for
        futures.append(svc.auditor.submit(actor, action, ALLOWED, resource=resource, remote_addr=remote,
                                          details={"items": "0"}))
    await svc.publisher.wait(futures, label=LABEL)
    if items:  # the envelopes are the callback's durable trail; the audit log gets a tally (gateway.audit)
        svc.auditor.tally(actor, action, resource=resource, remote_addr=remote, items=len(items))


def _refuse(request: Request, svc: Services, provider: str, action: str, reason: str) -> GatewayError:
    svc.metrics.signature_failures(provider).inc()
    return refuse(request, Actor(provider, "provider"), action, reason,
                  BadSignature("the webhook signature is missing or invalid"))


# -- Twilio ----------------------------------------------------------------------------------

async def _twilio(request: Request, path_kind: str) -> Response:
    svc = services(request)
    action = f"webhook.twilio.{path_kind}"
    raw = await read_body(request, svc.settings.gateway.max_body_bytes)
    signature = request.headers.get(TWILIO_SIGNATURE)
    query = signed_query(request.scope["query_string"])
    is_json = request.headers.get("content-type", "").startswith("application/json")
    algorithm = get_signature_algorithm(request.headers.get(TWILIO_SIGNATURE_SETTINGS))
    form: Mapping[str, Any]
    if query is None:
        valid = False  # bytes Twilio cannot have signed (it signs a UTF-8 URL)
    elif is_json:
        # JSON webhooks are signed over the URL (with bodySHA256 in its query) and the body's hash;
        # without bodySHA256 there is no body hash to check (and RequestValidator would raise)
        url = twilio_url(svc.settings.gateway.public_url, request.scope["path"], query)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        valid = bool(signature) and has_body_hash(query) and svc.twilio_validator.validate(
            url, text, signature, algorithm)
    else:
        url = twilio_url(svc.settings.gateway.public_url, request.scope["path"], query)
        fields = parse_form(raw)
        valid = bool(signature) and form_signature_valid(svc.twilio_validator, url, fields, str(signature),
                                                         algorithm)
    if not valid:
        raise _refuse(request, svc, "twilio", action, "bad_signature")
    if is_json:
        parsed = parse_json(raw)
        if not isinstance(parsed, dict):
            raise MalformedBody("a JSON webhook body must be an object")
        form = parsed
    else:
        form = {k: vs[0] if len(vs) == 1 else vs for k, vs in fields.items()}
    kind = twilio_kind(path_kind, form)
    refs = dict(parse_qsl(query or "", keep_blank_values=True))
    patient_addr, our_addr = twilio_parties(kind, {k: str(v) for k, v in form.items()})
    org = refs.get("org") or (svc.directory.organization_for("twilio", our_addr) if our_addr else None)
    sid = str(form.get("MessageSid") or form.get("CallSid") or form.get("SmsSid") or "")
    item = Item(kind, form, refs, org, patient_number(patient_addr), sid or envelope_id("twilio", kind, raw))
    await _publish(request, svc, "twilio", action, [item], raw)
    # An empty TwiML document: Twilio sends nothing on its own and ends a call after a Gather.
    return Response(EMPTY_TWIML, 200, media_type="text/xml")


async def twilio_status(request: Request) -> Response:
    return await _twilio(request, "status")


async def twilio_inbound(request: Request) -> Response:
    return await _twilio(request, "inbound")


async def twilio_voice(request: Request) -> Response:
    return await _twilio(request, "voice")


async def twilio_call_status(request: Request) -> Response:
    return await _twilio(request, "call_status")


async def twilio_gather(request: Request) -> Response:
    return await _twilio(request, "gather")


# -- Meta ------------------------------------------------------------------------------------

async def meta_verify(request: Request) -> Response:
    """The subscription handshake: echo hub.challenge when hub.verify_token is ours."""
    svc = services(request)
    q = request.query_params
    expected = str(svc.settings.meta.verify_token).encode()
    given = q.get("hub.verify_token", "").encode()
    challenge = q.get("hub.challenge", "")
    if q.get("hub.mode") == "subscribe" and challenge and hmac.compare_digest(given, expected):
        svc.auditor.fire(Actor("meta", "provider"), "webhook.meta.verify", ALLOWED, resource=route_of(request),
                         remote_addr=remote_addr(request))
        return PlainTextResponse(challenge[:1024])
    raise refuse(request, Actor("meta", "provider"), "webhook.meta.verify", "bad_verify_token",
                 BadSignature("verification refused"))


_META_KINDS = {"status": "status", "message": "inbound", "error": "error"}


def meta_items(body: Any, directory_org: Any) -> list[Item]:
    """One Item per status / message / error of a (verified) Meta webhook body."""
    items = []
    for kind, fields, metadata in split_webhook(body if isinstance(body, Mapping) else {}):
        refs = decode_refs(str(fields.get("biz_opaque_callback_data") or "")) if kind == "status" else {}
        query = {**refs, **{k: v for k, v in metadata.items() if v}}
        phone_number_id = metadata.get("phone_number_id", "")
        org = refs.get("org") or (directory_org(phone_number_id) if phone_number_id else None)
        patient = fields.get("recipient_id") if kind == "status" else fields.get("from")
        fallback = str(fields.get("id") or phone_number_id or "meta")
        items.append(Item(_META_KINDS.get(kind, kind), fields, query, org,
                          patient_number(str(patient)) if patient else None, fallback))
    return items


async def meta_webhook(request: Request) -> Response:
    svc = services(request)
    raw = await read_body(request, svc.settings.gateway.max_body_bytes)
    secret = str(svc.settings.meta.app_secret).encode()
    if not verify_signature(secret, raw, request.headers.get(SIGNATURE_HEADER)):
        raise _refuse(request, svc, "meta", "webhook.meta", "bad_signature")
    body = parse_json(raw)
    items = meta_items(body, lambda pnid: svc.directory.organization_for("meta", pnid))
    await _publish(request, svc, "meta", "webhook.meta", items, raw)
    return Response(b"", 200)


# Busiest first: Starlette's router tries routes in order, a regex each, and every message we send
# comes back as about three status callbacks. Meta's POST precedes its GET handshake on the same
# path (a GET-only route would only half-match a POST and the router would look on).
ROUTES: tuple[tuple[str, Any, list[str]], ...] = (
    (WEBHOOK_PATHS["meta"], meta_webhook, ["POST"]),
    (WEBHOOK_PATHS["twilio_status"], twilio_status, ["POST"]),
    (WEBHOOK_PATHS["twilio_inbound"], twilio_inbound, ["POST"]),
    (VOICE_PATH, twilio_voice, ["POST"]),
    (WEBHOOK_PATHS["twilio_call_status"], twilio_call_status, ["POST"]),
    (WEBHOOK_PATHS["twilio_gather"], twilio_gather, ["POST"]),
    (WEBHOOK_PATHS["meta"], meta_verify, ["GET"]),
)
