"""The appointments page: the route authenticates, builds the page's data with one pure call
(gateway.console.appointments.build) over the views, audits the read and renders."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.audit import ALLOWED
from gateway.console import appointments
from gateway.console.context import console, local_time
from gateway.console.roles import Permission
from gateway.console.web import Refused, Viewer, page, render
from gateway.services import remote_addr

PATH = "/console/appointments"
READ = "console.appointments.read"


@page(Permission.PHI_READ)  # appointment times of named pseudonyms: staff and admin, never analysts
async def appointments_page(request: Request, viewer: Viewer) -> Response:
    con = console(request)
    svc = con.svc
    plans, answers = con.plans, con.answers
    if not (plans.loaded and answers.loaded):
        raise Refused(503, "loading_title", "loading_body")
    org = viewer.account.organization_id
    tz, _ = svc.settings.care.for_org(org)
    chosen = appointments.Filter.parse(request.query_params.get("when"), request.query_params.get("answer"))
    board = appointments.build(plans.plans(org), answers.answers(org), con.clock(), tz, chosen)
    # appointment times are PHI-adjacent: who looked at which clinic's appointments is on the trail first
    await svc.publisher.wait([svc.auditor.submit(viewer.actor, READ, ALLOWED, resource=PATH,
                                                 remote_addr=remote_addr(request),
                                                 details={"shown": str(len(board.rows)), "when": chosen.when,
                                                          "answer": chosen.answer or ""})], label="audit")
    return render(request, "appointments.html", {"board": board, "local": local_time(tz),
                                                 "whens": appointments.WHEN, "answers": appointments.ANSWERS,
                                                 "slot_states": appointments.SLOT_STATES},
                  viewer=viewer)
