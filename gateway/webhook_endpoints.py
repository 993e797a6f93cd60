"""POST/GET/DELETE /v1/webhook-endpoints: an organization's outbound webhook subscriptions (admin keys).

A subscription is a WebhookEndpoint record on the compacted `webhook.endpoints` topic (key
`organization_id|endpoint_id`, a tombstone deletes it), read back into every gateway process by a view;
the webhook process (streams.webhooks) reads the same topic. The signing secret is generated here, shown
in the POST's answer only, and kept sealed. docs/webhooks.md.
"""
from __future__ import annotations

import ipaddress
import time
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response

from access.keys import Action
from gateway.audit import ALLOWED, Actor
from gateway.body import parse_json, read_body
from gateway.errors import InvalidField, MalformedBody, NotFound, Unavailable
from gateway.services import guard, remote_addr, services
from gateway.topicview import TopicView
from schemas.codec import AvroCodec
from schemas.ids import uuid4_str
from schemas.phi import Binding
from schemas.webhook_signature import new_secret
from streams.decide.webhooks import EVENT_TYPES, FINAL_ONLY, STATUS_CHANGES

PATH = "/v1/webhook-endpoints"
ITEM = "/v1/webhook-endpoints/{endpoint_id}"
MAX_URL = 2048
MAX_PER_ORG = 20


def parse_subscription(doc: Any, *, production: bool) -> dict[str, Any]:
    """The checked fields of a new subscription; InvalidField naming the first bad one."""
    if not isinstance(doc, dict):
        raise MalformedBody("the body must be a JSON object")
    url = doc.get("url")
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise InvalidField(f"url must be an absolute URL of at most {MAX_URL} characters", field="url")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidField("url must be an absolute http(s) URL", field="url")
    if production and parts.scheme != "https":
        raise InvalidField("url must use https in production", field="url")
    if production and _internal(parts.hostname):
        # the webhook process must not be pointed at our own network (metadata services, the broker)
        raise InvalidField("url must name a public host in production", field="url")
    if parts.username or parts.password:
        raise InvalidField("url must not carry credentials: the signature authenticates each request", field="url")
    types = doc.get("event_types")
    if not isinstance(types, list) or not types or any(t not in EVENT_TYPES for t in types):
        raise InvalidField(f"event_types must be a non-empty list of {', '.join(EVENT_TYPES)}", field="event_types")
    changes = doc.get("status_changes", FINAL_ONLY)
    if changes not in STATUS_CHANGES:
        raise InvalidField("status_changes must be final or all", field="status_changes")
    phi = doc.get("include_phi", False)
    if not isinstance(phi, bool):
        raise InvalidField("include_phi must be true or false", field="include_phi")
    return {"url": url, "event_types": sorted(set(types)), "status_changes": changes, "include_phi": phi}


def _internal(host: str) -> bool:
    """A literal loopback, private, link-local or reserved address, or localhost (names are not resolved here)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_unspecified


def present(rec: dict[str, Any]) -> dict[str, Any]:
    """An endpoint as the API shows it: never its secret."""
    created = rec["created_at"]
    return {"endpoint_id": rec["endpoint_id"], "url": rec["url"], "event_types": list(rec["event_types"]),
            "status_changes": rec["status_changes"], "include_phi": rec["include_phi"],
            "created_at": created if isinstance(created, int) else int(created.timestamp() * 1000)}


class WebhookEndpointView(TopicView):
    name = "webhook endpoint view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        super().__init__(bootstrap, topic, codec)
        self._records: dict[str, bytes] = {}  # organization_id|endpoint_id -> the last record, undecoded

    def take(self, key: bytes | None, value: bytes | None) -> None:
        if key is not None:
            self.keep_raw(self._records, key.decode("utf-8", "replace"), value)

    def of(self, organization_id: str) -> list[dict[str, Any]]:
        prefix = f"{organization_id}|"
        found = [self.decode(v) for k, v in list(self._records.items()) if k.startswith(prefix)]
        return sorted((r for r in found if r is not None), key=lambda r: r["endpoint_id"])

    def has(self, organization_id: str, endpoint_id: str) -> bool:
        return f"{organization_id}|{endpoint_id}" in self._records


async def create(request: Request) -> Response:
    key = guard(request, Action.WEBHOOKS_MANAGE)
    svc = services(request)
    doc = parse_subscription(parse_json(await read_body(request, svc.settings.gateway.max_body_bytes)),
                             production=svc.settings.env == "production")
    view = svc.webhook_endpoints
    if not view.loaded:
        raise Unavailable("webhook endpoints are still loading")
    if len(view.of(key.organization_id)) >= MAX_PER_ORG:
        raise InvalidField(f"an organization has at most {MAX_PER_ORG} webhook endpoints", field="url")
    endpoint_id = "we_" + uuid4_str().replace("-", "")
    secret = new_secret()
    record = {"endpoint_id": endpoint_id, "organization_id": key.organization_id, **doc,
              "secret": svc.cipher.seal("webhook_secret", secret, Binding(key.organization_id, endpoint_id)),
              "created_at": int(time.time() * 1000), "created_by": key.key_id}
    topic = svc.topics.webhook_endpoints
    actor = Actor.of(key)
    await svc.publisher.wait([
        svc.publisher.submit(topic.name, f"{key.organization_id}|{endpoint_id}", topic.codec.encode(record)),
        svc.auditor.submit(actor, "webhook_endpoint.create", ALLOWED, resource=endpoint_id,
                           remote_addr=remote_addr(request))], label="webhook_endpoints")
    answer = {**present(record), "secret": secret}
    return Response(orjson.dumps(answer), 201, media_type="application/json")


async def list_endpoints(request: Request) -> Response:
    key = guard(request, Action.WEBHOOKS_MANAGE)
    svc = services(request)
    if not svc.webhook_endpoints.loaded:
        raise Unavailable("webhook endpoints are still loading")
    doc = {"webhook_endpoints": [present(r) for r in svc.webhook_endpoints.of(key.organization_id)]}
    return Response(orjson.dumps(doc), 200, media_type="application/json")


async def delete(request: Request) -> Response:
    key = guard(request, Action.WEBHOOKS_MANAGE)
    svc = services(request)
    endpoint_id = request.path_params["endpoint_id"]
    if not svc.webhook_endpoints.has(key.organization_id, endpoint_id):
        raise NotFound("no such webhook endpoint")  # another organization's id reads the same
    topic = svc.topics.webhook_endpoints
    await svc.publisher.wait([
        svc.publisher.submit(topic.name, f"{key.organization_id}|{endpoint_id}", None),
        svc.auditor.submit(Actor.of(key), "webhook_endpoint.delete", ALLOWED, resource=endpoint_id,
                           remote_addr=remote_addr(request))], label="webhook_endpoints")
    return Response(status_code=204)


ROUTES = ((PATH, create, ["POST"]), (PATH, list_endpoints, ["GET"]), (ITEM, delete, ["DELETE"]))


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


_ENDPOINT = {"type": "object", "properties": {
    "endpoint_id": {"type": "string"}, "url": {"type": "string"},
    "event_types": {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)}},
    "status_changes": {"type": "string", "enum": list(STATUS_CHANGES)}, "include_phi": {"type": "boolean"},
    "created_at": {"type": "integer", "description": "epoch milliseconds"}}}
_DENIED = {"401": _error("missing or unknown API key"), "403": _error("the key's role may not manage webhooks")}
OPENAPI = {
    PATH: {
        "post": {
            "summary": "Subscribe an endpoint to the organization's events (admin keys); the secret is shown once",
            "tags": ["webhooks"], "operationId": "createWebhookEndpoint",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["url", "event_types"], "properties": {
                    "url": {"type": "string", "description": "https only in production"},
                    "event_types": _ENDPOINT["properties"]["event_types"],  # type: ignore[index]
                    "status_changes": {"type": "string", "enum": list(STATUS_CHANGES), "default": FINAL_ONLY},
                    "include_phi": {"type": "boolean", "default": False}}}}}},
            "responses": {
                "201": {"description": "subscribed; `secret` (whsec_...) signs every delivery and is not shown again",
                        "content": {"application/json": {"schema": {"allOf": [_ENDPOINT, {"type": "object",
                                    "properties": {"secret": {"type": "string"}}}]}}}},
                **_DENIED,
                "422": _error("a field is invalid (http in production, an unknown event type); `field` names it"),
                "503": _error("Kafka did not take the record in time, or the view is still loading"),
            }},
        "get": {
            "summary": "The organization's webhook endpoints (never their secrets)", "tags": ["webhooks"],
            "operationId": "listWebhookEndpoints",
            "responses": {"200": {"description": "the endpoints", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"webhook_endpoints": {"type": "array", "items": _ENDPOINT}}}}}},
                **_DENIED, "503": _error("the view is still loading")}},
    },
    ITEM: {"delete": {
        "summary": "Unsubscribe an endpoint; events not yet delivered to it are dropped", "tags": ["webhooks"],
        "operationId": "deleteWebhookEndpoint",
        "parameters": [{"name": "endpoint_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"204": {"description": "deleted"}, **_DENIED,
                      "404": _error("no such endpoint in the key's organization"),
                      "503": _error("Kafka did not take the record in time")}}},
}
