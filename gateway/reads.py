"""GET /v1/messages/{message_id} (the reconciled state and its history), GET /v1/templates and
GET /v1/staff/notifications (gateway.staff)."""
from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from access.keys import Action
from gateway import staff
from gateway.audit import ALLOWED, REJECTED, Actor
from gateway.errors import GatewayError, NotFound, Unavailable, spec_for
from gateway.services import Services, guard, remote_addr, services
from gateway.state import accepted_only, iso, present

READ = Action.READ.value
CATCH_UP_S = 3.0  # how long a GET that finds nothing waits for the accepted-sends view to read what Kafka holds


async def get_message(request: Request) -> Response:
    key = guard(request, Action.READ)
    svc = services(request)
    message_id = request.path_params["message_id"]
    actor, remote = Actor.of(key), remote_addr(request)
    record = svc.state.get(message_id)
    doc = None
    if record is not None:
        if record["organization_id"] == key.organization_id:
            doc = present(record)
    else:
        doc = _accepted(svc, message_id, key.organization_id)
        if doc is None and not (svc.state.loaded and svc.accepted.loaded):
            raise Unavailable("message state is still loading")
        if doc is None:
            # a send acknowledged (by any process) before this request began is known once the view
            # has read what Kafka holds now; when that cannot be told, the answer is "try again"
            if not await asyncio.to_thread(svc.accepted.caught_up, CATCH_UP_S):
                raise Unavailable("accepted sends are still being read")
            record = svc.state.get(message_id)
            doc = present(record) if record is not None and record["organization_id"] == key.organization_id \
                else _accepted(svc, message_id, key.organization_id)
    if doc is None:
        # another organization's message is indistinguishable from an unknown one
        svc.auditor.fire(actor, READ, REJECTED, resource=message_id[:64], reason="not_found", remote_addr=remote)
        raise NotFound("no such message", field="message_id")
    # reading is audited before it is answered: no access without a trail
    await svc.publisher.wait([svc.auditor.submit(actor, READ, ALLOWED, resource=message_id, remote_addr=remote)],
                             label="audit")
    return Response(orjson.dumps(doc), 200, media_type="application/json")


def _accepted(svc: Services, message_id: str, organization_id: str) -> dict[str, Any] | None:
    """`accepted` for a send this process, another one, or another writer put on send.requests, while
    the stream workers have not written its state: an accepted message is never a 404 to its sender."""
    local = svc.idempotency.accepted(message_id)
    if local is not None and local.organization_id == organization_id:
        return accepted_only(message_id, local.created_at_ms)
    seen = svc.accepted.get(message_id)
    if seen is not None and seen.organization_id == organization_id:
        return accepted_only(message_id, seen.accepted_at_ms)
    return None


async def list_templates(request: Request) -> Response:
    key = guard(request, Action.READ)
    svc = services(request)
    svc.auditor.fire(Actor.of(key), "template.list", ALLOWED, resource="/v1/templates",
                     remote_addr=remote_addr(request))
    catalog = svc.templates
    doc = {"templates": [
        {"name": name, "category": (t := catalog.get(name)).category, "params": list(t.params),
         "languages": sorted(t.languages)}
        for name in catalog.names(key.organization_id)
    ]}
    return Response(orjson.dumps(doc), 200, media_type="application/json")


async def list_notifications(request: Request) -> Response:
    key = guard(request, Action.STAFF_READ)
    svc = services(request)
    actor, remote = Actor.of(key), remote_addr(request)
    try:
        q = staff.parse_query(request.query_params)
    except GatewayError as exc:
        svc.auditor.fire(actor, Action.STAFF_READ.value, REJECTED, resource=staff.PATH, reason=spec_for(exc).code,
                         remote_addr=remote)
        raise
    if not svc.staff.loaded:
        raise Unavailable("staff notifications are still loading")
    chosen, more = svc.staff.list(key.organization_id, q)
    # reading is audited before it is answered: no access without a trail
    await svc.publisher.wait([svc.auditor.submit(actor, Action.STAFF_READ.value, ALLOWED, resource=staff.PATH,
                                                 remote_addr=remote, details={"returned": str(len(chosen))})],
                             label="audit")
    doc = {"notifications": [staff.present(n) for n in chosen], "truncated": more,
           "next_since": iso(chosen[-1].occurred_at) if more and chosen else None,
           "next_after": staff.cursor(chosen[-1]) if more and chosen else None}
    return Response(orjson.dumps(doc), 200, media_type="application/json")
