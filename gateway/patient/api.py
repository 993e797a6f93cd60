"""The patient page's links for the clinic's systems: `POST /v1/patient-links` makes one for a patient
(by number), `POST /v1/patient-links/{link_id}:revoke` ends one. A sender puts the answered `url` into the
messages it sends (text or a template parameter); the link carries no PHI."""
from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from access.keys import Action
from gateway.audit import ALLOWED, Actor
from gateway.body import parse_json, read_body
from gateway.errors import InvalidField, NotFound
from gateway.patient import links
from gateway.patient.context import patient_page
from gateway.patient.words import LANGUAGES
from gateway.services import guard, remote_addr, services
from schemas.numbers import NumberRefused, canonical_number
from schemas.phi import Binding

PATH = "/v1/patient-links"
REVOKE = "/v1/patient-links/{link_id}:revoke"
LABEL = "patient_link"


def link_record(*, link_id: str, organization_id: str, recipient_id: str, recipient: Any, language: str,
                now_ms: int, ttl_ms: int, created_by: str) -> dict[str, Any]:
    return {"link_id": link_id, "organization_id": organization_id, "recipient_id": recipient_id,
            "recipient": recipient, "language": language, "created_at": now_ms, "expires_at": now_ms + ttl_ms,
            "device": None, "created_by": created_by}


async def create(request: Request) -> Response:
    key = guard(request, Action.SEND, "patient.link.create")
    svc, pp = services(request), patient_page(request)
    body = parse_json(await read_body(request, svc.settings.gateway.max_body_bytes))
    if not isinstance(body, dict):
        raise InvalidField("the body must be a JSON object", field="body")
    try:
        number = canonical_number(body.get("to"))
    except NumberRefused as exc:
        raise InvalidField(f"to: {exc.message}", field="to") from None
    language = body.get("language", "es")
    if language not in LANGUAGES:
        raise InvalidField(f"language must be one of {', '.join(LANGUAGES)}", field="language")
    org, now = key.organization_id, int(time.time() * 1000)
    link_id = links.new_link_id()
    rid = svc.pseudonymize(org, number)
    record = link_record(link_id=link_id, organization_id=org, recipient_id=rid,
                         recipient=svc.cipher.seal("recipient", number, Binding(org, link_id)), language=language,
                         now_ms=now, ttl_ms=pp.ttl_ms, created_by=key.key_id)
    topic = svc.topics.patient_links
    futures = [svc.publisher.submit(topic.name, link_id, topic.codec.encode(record)),
               svc.auditor.submit(Actor.of(key), "patient.link.create", ALLOWED, resource=link_id,
                                  remote_addr=remote_addr(request), details={"recipient_id": rid})]
    failed = next((r for r in await svc.publisher.settle(futures, label=LABEL) if r is not None), None)
    if failed is not None:
        raise failed
    pp.links.note(record, link_id)
    token = links.token_for(pp.key, link_id)
    doc = {"link_id": link_id, "url": f"{svc.settings.gateway.public_url}/p/{token}", "recipient_id": rid,
           "expires_at": now + pp.ttl_ms}
    return Response(orjson.dumps(doc), 201, media_type="application/json")


async def revoke(request: Request) -> Response:
    key = guard(request, Action.SEND, "patient.link.revoke")
    svc, pp = services(request), patient_page(request)
    link_id = request.path_params["link_id"]
    held = pp.links.get(link_id)
    if held is None or held["organization_id"] != key.organization_id:
        raise NotFound("no such link", field="link_id")
    topic = svc.topics.patient_links
    # the tombstone: every process forgets the link
    futures = [svc.publisher.submit(topic.name, link_id, None),
               svc.auditor.submit(Actor.of(key), "patient.link.revoke", ALLOWED, resource=link_id,
                                  remote_addr=remote_addr(request))]
    failed = next((r for r in await svc.publisher.settle(futures, label=LABEL) if r is not None), None)
    if failed is not None:
        raise failed
    pp.links.note(None, link_id)
    return Response(orjson.dumps({"link_id": link_id, "status": "revoked"}), 200, media_type="application/json")


ROUTES = ((PATH, create, ["POST"]), (REVOKE, revoke, ["POST"]))


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


OPENAPI = {
    PATH: {"post": {
        "summary": "A patient page link for one patient (sender and admin keys): put its url in the messages sent",
        "tags": ["patients"], "operationId": "createPatientLink",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["to"], "properties": {
                "to": {"type": "string", "description": "the patient's number, E.164"},
                "language": {"type": "string", "enum": list(LANGUAGES), "default": "es"}}}}}},
        "responses": {
            "201": {"description": "made, once Kafka acked it",
                    "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "link_id": {"type": "string"}, "url": {"type": "string"},
                        "recipient_id": {"type": "string"}, "expires_at": {"type": "integer"}}}}}},
            "401": _error("missing or unknown API key"),
            "403": _error("the key's role may not send"),
            "422": _error("`to` is not a number, or `language` not one of es, en, pt; `field` names it"),
            "503": _error("Kafka did not take the link in time: retry after Retry-After seconds"),
        }}},
    REVOKE: {"post": {
        "summary": "End a patient page link at once (a tombstone on patient.links)",
        "tags": ["patients"], "operationId": "revokePatientLink",
        "parameters": [{"name": "link_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "revoked, once Kafka acked it"},
            "401": _error("missing or unknown API key"),
            "403": _error("the key's role may not send"),
            "404": _error("no such link (unknown, already revoked, or another organization's)"),
            "503": _error("Kafka did not take the tombstone in time: retry after Retry-After seconds"),
        }}},
}
