"""POST /v1/conversations/{recipient_id}:resume: a person hands a conversation the loop guard paused
back to the automation.

The command is a CareEvent (`conversation.resume`) on `conversation.commands`, keyed by the patient's
pseudonym so the worker that owns the patient applies it (streams.agents.conversations); the answer
is 202 once the broker acknowledged it and the audit record. The worker audits what it did
(`resumed`, `not_paused`, `unknown_conversation`): a key can only ever resume its own organization's
patients, and whether a pseudonym exists is not told here.
"""
from __future__ import annotations

import re
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from access.keys import Action
from gateway.audit import ALLOWED, ERROR, REJECTED, Actor
from gateway.errors import InvalidField, spec_for
from gateway.services import guard, remote_addr, services
from schemas.ids import uuid4_str
from schemas.phi import PSEUDONYM_HEX_CHARS

PATH = "/v1/conversations/{recipient_id}:resume"
RESUME = "conversation.resume"
_PSEUDONYM = re.compile(f"[0-9a-f]{{{PSEUDONYM_HEX_CHARS}}}")
LABEL = "conversation"


def command(organization_id: str, recipient_id: str, key_id: str, now_ms: int) -> dict[str, Any]:
    """The CareEvent the worker reads; ids and codes only."""
    return {"event_id": uuid4_str(), "type": RESUME, "organization_id": organization_id,
            "recipient_id": recipient_id, "appointment_id": None, "message_id": None, "reason": "staff",
            "channel": "UNKNOWN", "language": None, "text": None, "correlation_id": None, "occurred_at": now_ms,
            "details": {"key_id": key_id}}


async def resume(request: Request) -> Response:
    key = guard(request, Action.CONVERSATION_RESUME)
    svc = services(request)
    actor, remote = Actor.of(key), remote_addr(request)
    rid = request.path_params["recipient_id"]
    if not _PSEUDONYM.fullmatch(rid):
        # not the id itself: whatever was put there (a phone number?) stays out of the trail
        svc.auditor.fire(actor, RESUME, REJECTED, resource=PATH, reason="invalid_field", remote_addr=remote,
                         details={"field": "recipient_id"})
        raise InvalidField(f"recipient_id must be the patient's pseudonym ({PSEUDONYM_HEX_CHARS} lowercase hex "
                           "characters)", field="recipient_id")
    record = command(key.organization_id, rid, key.key_id, int(time.time() * 1000))
    topic = svc.topics.conversations
    futures = [svc.publisher.submit(topic.name, rid, topic.codec.encode(record)),
               svc.auditor.submit(actor, RESUME, ALLOWED, resource=rid, remote_addr=remote,
                                  details={"command_id": record["event_id"]})]
    failed = next((r for r in await svc.publisher.settle(futures, label=LABEL) if r is not None), None)
    if failed is not None:
        svc.auditor.fire(actor, RESUME, ERROR, resource=rid, reason=spec_for(failed).code, remote_addr=remote)
        raise failed
    doc = {"recipient_id": rid, "command_id": record["event_id"], "status": "accepted"}
    return Response(orjson.dumps(doc), 202, media_type="application/json")


ROUTES = ((PATH, resume, ["POST"]),)


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


OPENAPI = {PATH: {"post": {
    "summary": "Resume a conversation the loop guard paused (admin keys; applied by the patient's worker)",
    "tags": ["staff"], "operationId": "resumeConversation",
    "parameters": [{"name": "recipient_id", "in": "path", "required": True,
                    "schema": {"type": "string", "pattern": f"^[0-9a-f]{{{PSEUDONYM_HEX_CHARS}}}$"}}],
    "responses": {
        "202": {"description": "the broker acknowledged the command; the worker audits what it did",
                "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "recipient_id": {"type": "string"}, "command_id": {"type": "string"},
                    "status": {"type": "string"}}}}}},
        "401": _error("missing or unknown API key"),
        "403": _error("the key's role may not resume conversations"),
        "422": _error("recipient_id is not a pseudonym; `field` names it"),
        "503": _error("Kafka did not take the command in time: retry after Retry-After seconds"),
    }}}}
