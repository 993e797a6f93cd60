"""/healthz (the process is alive) and /readyz (Kafka reachable, every read view loaded)."""
from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.services import services


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', 200, media_type="application/json")


async def readyz(request: Request) -> Response:
    svc = services(request)
    kafka = await svc.publisher.broker_reachable()
    topics = svc.topics_ready.is_set()
    state = svc.state.loaded
    accepted = svc.accepted.loaded
    staff = svc.staff.loaded
    plans = svc.plans.loaded
    appointments = svc.appointments.loaded
    templates = svc.template_feed.loaded  # a clinic's own templates: a send naming one is valid only then
    ready = kafka and topics and state and accepted and staff and plans and appointments and templates
    doc = {"status": "ready" if ready else "not_ready", "kafka": kafka, "topics": topics,
           "message_state_loaded": state, "accepted_sends_loaded": accepted, "staff_notifications_loaded": staff,
           "appointment_plans_loaded": plans, "appointments_loaded": appointments, "templates_loaded": templates}
    return Response(orjson.dumps(doc), 200 if ready else 503, {"Retry-After": "1"} if not ready else None,
                    media_type="application/json")
