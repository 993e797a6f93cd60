"""An appointment's page: its reminder plan (gateway.plans, the compacted `appointment.plans` topic) in
words, for the roles that may read PHI (an appointment's date is health information), audited."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.appointments import present
from gateway.audit import ALLOWED
from gateway.console.context import console, local_time
from gateway.console.message_page import local_iso
from gateway.console.roles import Permission
from gateway.console.web import Refused, Viewer, page, render
from gateway.services import remote_addr

PATH = "/console/appointments"
READ = "console.appointment.read"


@page(Permission.PHI_READ)
async def find(request: Request, viewer: Viewer) -> Response:
    """The find form's GET target: `?id=` to the appointment's page (the clinic's own id, no PHI)."""
    appointment_id = (request.query_params.get("id") or "").strip()[:200]
    if not appointment_id:
        return RedirectResponse("/console/patients", status_code=303)
    return RedirectResponse(f"{PATH}/{appointment_id}", status_code=303)


@page(Permission.PHI_READ)
async def appointment_page(request: Request, viewer: Viewer) -> Response:
    con = console(request)
    svc = con.svc
    appointment_id = request.path_params["appointment_id"][:200]
    record = svc.plans.get(viewer.account.organization_id, appointment_id)  # keyed by organization
    if record is None:
        raise Refused(404, "not_found_title", "appointment_not_found")
    await svc.publisher.wait([svc.auditor.submit(viewer.actor, READ, ALLOWED, resource=appointment_id,
                                                 remote_addr=remote_addr(request))], label="audit")
    plan = present(record)
    # the appointment's own zone: the reminders were placed in it
    return render(request, "appointment.html", {"a": plan, "local_iso": local_iso(plan["timezone"]),
                                                "local": local_time(plan["timezone"])}, viewer=viewer)
