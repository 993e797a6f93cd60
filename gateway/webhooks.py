"""Provider webhooks: a thin shell over each provider package's routes, verification and items.

For every route connectors.factory lists, the gateway reads the body within its limit, asks the
provider package whether the signature holds (a 403, counted and audited, when it does not), seals
each item the package cuts out of the callback into a WebhookEnvelope keyed by the patient's
pseudonym, publishes, and answers what the provider expects. Interpretation (statuses, replies,
opt-outs) happens in the streams.

Envelope ids are derived from the request content (uuid5), so a provider's retry of the same POST
yields the same envelope id and the streams can drop it.
"""
from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from connectors.factory import webhook_routes
from connectors.webhooks import MalformedWebhook, WebhookItem, WebhookReceiver, WebhookRoute
from gateway.audit import ALLOWED, Actor
from gateway.body import parse_form, parse_json, read_body
from gateway.errors import BadSignature, GatewayError, MalformedBody
from gateway.services import Services, refuse, remote_addr, route_of, services
from schemas.ids import uuid5_str
from schemas.phi import Binding

ENVELOPE_NAMESPACE = uuid.UUID("0b7c8e3a-2f4d-4d0e-a7f1-5e9b1c3d2a60")
LABEL = "webhooks.raw"
Endpoint = Callable[[Request], Awaitable[Response]]


def envelope_id(provider: str, kind: str, *parts: bytes) -> str:
    digest = hashlib.sha256(b"\x00".join(parts)).hexdigest()
    return uuid5_str(ENVELOPE_NAMESPACE, f"{provider}|{kind}|{digest}")


def signed_query(raw: bytes) -> str | None:
    """The query string as received (UTF-8), or None when it is not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


class Received:
    """A callback as read (connectors.webhooks.WebhookBody): the form and JSON parsed at most once."""

    def __init__(self, request: Request, raw: bytes, public_url: str) -> None:
        self._request = request
        self.raw = raw
        self.path: str = request.scope["path"]
        self.query = signed_query(request.scope["query_string"])
        self.public_url = public_url

    def header(self, name: str) -> str | None:
        return self._request.headers.get(name)

    def param(self, name: str) -> str:
        return self._request.query_params.get(name, "")

    @cached_property
    def _form(self) -> dict[str, list[str]]:
        return parse_form(self.raw)

    def form(self) -> Mapping[str, list[str]]:
        return self._form

    def json(self) -> Any:
        return parse_json(self.raw)


# -- publishing ------------------------------------------------------------------------------

async def _publish(request: Request, svc: Services, provider: str, action: str, items: list[WebhookItem],
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
        key = recipient_id or item.fallback_key or envelope_id(provider, item.kind, raw)
        futures.append(svc.publisher.submit(topic.name, key, topic.codec.encode(record)))
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


async def _callback(request: Request, provider: str, route: WebhookRoute) -> Response:
    svc = services(request)
    receiver: WebhookReceiver = svc.webhooks[provider]
    raw = await read_body(request, svc.settings.gateway.max_body_bytes)
    body = Received(request, raw, svc.settings.gateway.public_url)
    if not receiver.verified(route, body):
        raise _refuse(request, svc, provider, route.action, route.refusal)
    try:
        items = receiver.items(route, body, lambda address: svc.directory.organization_for(provider, address))
    except MalformedWebhook as exc:
        raise MalformedBody(str(exc)) from None
    await _publish(request, svc, provider, route.action, items, raw)
    content, media_type = receiver.answer(route)
    return Response(content, 200, media_type=media_type)


async def _handshake(request: Request, provider: str, route: WebhookRoute) -> Response:
    svc = services(request)
    actor = Actor(provider, "provider")
    challenge = svc.webhooks[provider].handshake(route, Received(request, b"", svc.settings.gateway.public_url))
    if challenge is not None:
        svc.auditor.fire(actor, route.action, ALLOWED, resource=route_of(request), remote_addr=remote_addr(request))
        return PlainTextResponse(challenge)
    raise refuse(request, actor, route.action, route.refusal, BadSignature("verification refused"))


def endpoint(provider: str, route: WebhookRoute) -> Endpoint:
    handle = _handshake if route.method == "GET" else _callback

    async def webhook(request: Request) -> Response:
        return await handle(request, provider, route)

    webhook.__name__ = f"{provider}_{route.kind}"
    return webhook


# In the order the provider packages ask for: Starlette's router tries routes in order, a regex
# each, and the busiest callbacks come first.
ROUTES: tuple[tuple[str, Any, list[str]], ...] = tuple(
    (route.path, endpoint(provider, route), [route.method])
    for provider, route in sorted(webhook_routes(), key=lambda pr: pr[1].order))
