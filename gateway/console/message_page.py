"""A message's detail: its whole lifecycle as the message-state view holds it (gateway.state), for any
console role of its organization (statuses, channels, providers and codes; no PHI)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.audit import ALLOWED
from gateway.console.context import console, local_time
from gateway.console.roles import Permission
from gateway.console.web import Refused, Viewer, page, render
from gateway.services import remote_addr
from gateway.state import present

PATH = "/console/messages"
READ = Permission.MESSAGE_READ.value


@page(Permission.MESSAGE_READ)
async def find(request: Request, viewer: Viewer) -> Response:
    """The find form's GET target: `?id=` to the message's page (a message id is no PHI)."""
    message_id = (request.query_params.get("id") or "").strip()[:200]
    if not message_id:
        return RedirectResponse("/console/patients" if viewer.reads_phi else "/console/inbox", status_code=303)
    return RedirectResponse(f"{PATH}/{message_id}", status_code=303)


@page(Permission.MESSAGE_READ)
async def message_page(request: Request, viewer: Viewer) -> Response:
    con = console(request)
    svc = con.svc
    message_id = request.path_params["message_id"][:200]
    record = svc.state.get(message_id)
    if record is None or record.get("organization_id") != viewer.account.organization_id:
        # another organization's message is indistinguishable from an unknown one
        raise Refused(404, "not_found_title", "message_not_found")
    doc = present(record)
    await svc.publisher.wait([svc.auditor.submit(viewer.actor, READ, ALLOWED, resource=message_id,
                                                 remote_addr=remote_addr(request))], label="audit")
    tz, _ = svc.settings.care.for_org(viewer.account.organization_id)
    return render(request, "message.html", {"m": doc, "local_iso": local_iso(tz)}, viewer=viewer)


def local_iso(timezone: str) -> Callable[[str | None], str]:
    """The view's ISO times (gateway.state.present) in the organization's local time."""
    show = local_time(timezone)

    def convert(text: str | None) -> str:
        if not text:
            return "-"
        return show(int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000))

    return convert
