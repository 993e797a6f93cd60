"""GET /v1/messages/{message_id} (the reconciled state and its history), GET /v1/templates and
GET /v1/staff/notifications (gateway.staff)."""
from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway import staff
from gateway.audit import ALLOWED, REJECTED, Actor
from gateway.auth import Action
from gateway.errors import GatewayError, NotFound, Unavailable, spec_for
from gateway.services import guard, remote_addr, services
from gateway.state import accepted_only, iso, present

READ = Action.READ.value


async def get_message(request: Request) -> Response:
    key = guard(request, Action.READ)
    svc = services(request)
    message_id = request.path_params["message_id"]
    actor, remote = Actor.of(key), remote_addr(request)
    record = svc.state.get(message_id)
    doc = None
    if record is not None and record["organization_id"] == key.organization_id:
        doc = present(record)
    else:
        local = svc.idempotency.accepted(message_id)
        if record is None and local is not None and local.organization_id == key.organization_id:
            doc = accepted_only(message_id, local.created_at_ms)
    if doc is None:
        # another organization's message is indistinguishable from an unknown one
        svc.auditor.fire(actor, READ, REJECTED, resource=message_id[:64], reason="not_found", remote_addr=remote)
        raise NotFound("no such message", field="message_id")
    # reading is audited before it is answered: no access without a trail
    await svc.publisher.wait([svc.auditor.submit(actor, READ, ALLOWED, resource=message_id, remote_addr=remote)],
                             label="audit")
    return Response(orjson.dumps(doc), 200, media_type="application/json")


async def list_templates(request: Request) -> Response:
    key = guard(request, Action.READ)
    svc = services(request)
    svc.auditor.fire(Actor.of(key), "template.list", ALLOWED, resource="/v1/templates",
                     remote_addr=remote_addr(request))
    catalog = svc.templates
    doc = {"templates": [
        {"name": name, "category": (t := catalog.get(name)).category, "params": list(t.params),
         "languages": sorted(t.languages)}
        for name in catalog.names()
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
