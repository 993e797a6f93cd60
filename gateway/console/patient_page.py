"""One patient's page (the notices that needed a person, with the patient's own words) and finding a
patient by phone number.

The words are opened in the request, for a role allowed to read PHI (staff, admin), and the view is
audited (`console.phi.read`, who, which pseudonym, how many texts) before the page is sent. A phone
number typed into the search is turned into the pseudonym at once (canonical form, then the HMAC
every topic is keyed by) and sent back as a redirect to the pseudonym's conversation when there are
messages either way (the thread and the reply form), else to this page: the number is never stored,
logged, audited or put in a URL.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.audit import ALLOWED
from gateway.console import inbox
from gateway.console.context import Console, console, local_time
from gateway.console.roles import Permission
from gateway.console.web import Viewer, field, page, render
from gateway.services import remote_addr
from gateway.staff import Notice
from schemas.errors import CarelayError
from schemas.numbers import NumberRefused, canonical_number
from schemas.phi import Binding

log = logging.getLogger(__name__)

PATH = "/console/patients"
PHI_READ = "console.phi.read"
FIND = "console.patient.find"


@dataclass(frozen=True)
class Entry:
    item: inbox.Item
    words: str | None  # the patient's own text, opened for this view
    unreadable: bool = False  # sealed under a key this process does not hold


def entries(con: Console, organization_id: str, recipient_id: str) -> list[Entry]:
    """The organization's held notices about one patient, newest first, with their words opened."""
    handled = con.actions.handled(organization_id)
    out = []
    for n in reversed(con.svc.staff.held(organization_id)):
        if n.recipient_id != recipient_id:
            continue
        out.append(_opened(con, n, inbox.Item(n, handled.get(n.event_id))))
    return out


def _opened(con: Console, n: Notice, item: inbox.Item) -> Entry:
    if n.sealed_text is None:
        return Entry(item, None)
    try:
        # CareEvent words are bound to their organization and event id (schemas/phi.py, RECORD_IDS)
        return Entry(item, con.svc.cipher.open("text", n.sealed_text, Binding(n.organization_id, n.event_id)))
    except CarelayError as exc:
        log.warning("a staff notice's text did not open: %s", type(exc).__name__)
        return Entry(item, None, unreadable=True)


def _context(con: Console, viewer: Viewer) -> dict[str, Any]:
    tz, _ = con.svc.settings.care.for_org(viewer.account.organization_id)
    return {"local": local_time(tz), "can_act": False, "viewer": viewer, "inbox_reason": None}


@page(Permission.PHI_READ)
async def find_page(request: Request, viewer: Viewer) -> Response:
    return render(request, "find.html", {"error": None}, viewer=viewer)


@page(Permission.PHI_READ, form=True)
async def find(request: Request, viewer: Viewer, data: FormData) -> Response:
    con = console(request)
    try:
        number = canonical_number(field(data, "phone", 60))
    except NumberRefused as exc:
        return render(request, "find.html", {"error": exc.reason}, status=400, viewer=viewer)
    rid = con.svc.pseudonymize(viewer.account.organization_id, number)
    del number
    con.svc.auditor.fire(viewer.actor, FIND, ALLOWED, resource=rid, remote_addr=remote_addr(request))
    org = viewer.account.organization_id
    has_thread = bool(con.conversation.inbound.of(org, rid) or con.conversation.outbound.of(org, rid))
    return RedirectResponse(f"{PATH}/{rid}/conversation" if has_thread else f"{PATH}/{rid}", status_code=303)


@page(Permission.PHI_READ)
async def patient_page(request: Request, viewer: Viewer) -> Response:
    con = console(request)
    svc = con.svc
    rid = request.path_params["recipient_id"][:64]
    found = entries(con, viewer.account.organization_id, rid)
    opened = sum(1 for e in found if e.words is not None)
    # no PHI leaves without a trail: the view is audited (and acknowledged by Kafka) before the page is sent
    await svc.publisher.wait([svc.auditor.submit(viewer.actor, PHI_READ, ALLOWED, resource=rid,
                                                 remote_addr=remote_addr(request),
                                                 details={"notices": str(len(found)), "texts_opened": str(opened)})],
                             label="audit")
    if found:
        svc.metrics.phi_viewed(viewer.account.organization_id, viewer.account.username, rid)
    return render(request, "patient.html", {**_context(con, viewer), "recipient_id": rid, "entries": found},
                  status=200 if found else 404, viewer=viewer)
