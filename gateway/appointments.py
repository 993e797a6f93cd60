"""GET /v1/appointments/{appointment_id}: an appointment's reminder plan, from the appointment.plans view.

The stream workers publish each appointment's plan to the compacted `appointment.plans` topic
(key `organization_id|appointment_id`) whenever it changes: the reminders' slots, each `scheduled`,
`sent` (with the message id to follow at GET /v1/messages/{id}), `skipped` or `cancelled` with its
reason, and `impossible` when no reminder can be sent (staff got a `reminder_impossible` notice).
Every gateway process reads the topic into memory (gateway.plans).
"""
from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from access.keys import Action
from gateway.audit import ALLOWED, REJECTED, Actor
from gateway.errors import NotFound, Unavailable
from gateway.services import guard, remote_addr, services
from gateway.state import iso

PATH = "/v1/appointments/{appointment_id}"
READ = "appointment.read"


def present(record: dict[str, Any]) -> dict[str, Any]:
    """The public shape of an AppointmentPlan."""
    return {
        "appointment_id": record["appointment_id"],
        "status": record["kind"].lower(),
        "start_at": iso(record.get("start_at")),
        "timezone": record["timezone"],
        "reminders": [{"name": r["name"], "due_at": iso(r["due_at"]), "state": r["state"], "reason": r.get("reason"),
                       "message_id": r.get("message_id")} for r in record["reminders"]],
        "reminder_impossible": record.get("impossible") is not None,
        "impossible_reason": record.get("impossible"),
        "updated_at": iso(record["updated_at"]),
    }


async def get_appointment(request: Request) -> Response:
    key = guard(request, Action.READ)
    svc = services(request)
    appointment_id = request.path_params["appointment_id"]
    actor, remote = Actor.of(key), remote_addr(request)
    record = svc.plans.get(key.organization_id, appointment_id)
    if record is None:
        if not svc.plans.loaded:
            raise Unavailable("appointment plans are still loading")
        # another organization's appointment is indistinguishable from an unknown one (keyed by organization)
        svc.auditor.fire(actor, READ, REJECTED, resource=appointment_id[:64], reason="not_found", remote_addr=remote)
        raise NotFound("no reminder plan for this appointment", field="appointment_id")
    # reading is audited before it is answered: no access without a trail
    await svc.publisher.wait([svc.auditor.submit(actor, READ, ALLOWED, resource=appointment_id, remote_addr=remote)],
                             label="audit")
    return Response(orjson.dumps(present(record)), 200, media_type="application/json")
