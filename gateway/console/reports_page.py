"""The reporting dashboard (`/console/reports`) and its CSV downloads: the route authenticates, reads the
form (gateway.console.reports.parse), asks the analytics service for every section in one request
(`GET /v1/dashboard` with the console's key, CARELAY_ANALYTICS_API_KEY, at CARELAY_ANALYTICS_URL), audits
the read and renders the charts. An organization's people see their organization; the operator's
(CARELAY_ANALYTICS_SQL_ORGS) choose one or all. The analytics service checks the key's reach again.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from starlette.requests import Request
from starlette.responses import Response

from gateway.audit import ALLOWED
from gateway.console import reports
from gateway.console.context import console
from gateway.console.roles import Permission
from gateway.console.web import PAGE_HEADERS, Refused, Viewer, page, render
from gateway.services import remote_addr

PATH = "/console/reports"
READ = "console.reports.read"
TIMEOUT_S = 30.0


def _operator(request: Request, viewer: Viewer) -> bool:
    return viewer.account.organization_id in console(request).svc.settings.analytics.sql_orgs


def _choice(request: Request, viewer: Viewer) -> tuple[reports.Choice, list[reports.FormError]]:
    svc = console(request).svc
    own = viewer.account.organization_id
    tz, _ = svc.settings.care.for_org(own)
    today = datetime.fromtimestamp(console(request).clock() / 1000, ZoneInfo(tz)).date()
    return reports.parse(request.query_params, today=today, own_org=own, operator=_operator(request, viewer),
                         default_tz=tz)


async def fetch(request: Request, choice: reports.Choice) -> dict[str, Any]:
    """Every section for the choice from the analytics service, or the 503 page saying why not."""
    cfg = console(request).svc.settings.analytics
    key = str(cfg.api_key)
    if not key:
        raise Refused(503, "rep_unavailable_title", "rep_unavailable_body", reason="CARELAY_ANALYTICS_API_KEY")
    start, end = choice.range_utc()
    params = {"from": start.isoformat(), "to": end.isoformat(), "tz": choice.tz} | (
        {"org": choice.org} if choice.org else {})
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            answer = await client.get(f"{cfg.base_url}/v1/dashboard", params=params,
                                      headers={"Authorization": f"Bearer {key}"})
    except httpx.HTTPError as exc:
        raise Refused(503, "rep_unavailable_title", "rep_unavailable_body", reason=type(exc).__name__) from None
    if answer.status_code != 200:
        try:
            reason = str(answer.json().get("error", answer.status_code))
        except ValueError:
            reason = str(answer.status_code)
        raise Refused(503, "rep_unavailable_title", "rep_unavailable_body", reason=reason)
    payload: dict[str, Any] = answer.json()
    return payload


def _audit(request: Request, viewer: Viewer, choice: reports.Choice, what: str) -> None:
    console(request).svc.auditor.fire(viewer.actor, READ, ALLOWED, resource=PATH, remote_addr=remote_addr(request),
                                      details={"what": what, **choice.query()})


def _values(viewer: Viewer, error: reports.FormError) -> dict[str, Any]:
    return {k: viewer.words(str(v)) if k == "field" else v for k, v in error.values.items()}


def _in_words(viewer: Viewer, errors: list[reports.FormError]) -> list[tuple[str, str]]:
    """(field, what is wrong in the viewer's language), the first per field."""
    seen: dict[str, str] = {}
    for e in errors:
        seen.setdefault(e.field, viewer.words(e.key, **_values(viewer, e)))
    return list(seen.items())


@page(Permission.REPORTS)
async def reports_page(request: Request, viewer: Viewer) -> Response:
    choice, errors = _choice(request, viewer)
    raw = {k: request.query_params.get(k, "") for k in ("from", "to", "org", "tz")}
    if errors:
        return render(request, "reports.html", {"errors": _in_words(viewer, errors), "choice": choice, "raw": raw,
                                                "sections": [], "operator": _operator(request, viewer)},
                      status=400, viewer=viewer)
    payload = await fetch(request, choice)
    _audit(request, viewer, choice, "page")
    sections = reports.build(payload, viewer.words, every_org=not choice.org)
    return render(request, "reports.html", {"errors": [], "choice": choice, "raw": choice.query(),
                                            "sections": sections, "operator": _operator(request, viewer),
                                            "took_ms": payload.get("elapsed_ms"), "grain": payload["grain"],
                                            "query": choice.query()}, viewer=viewer)


@page(Permission.REPORTS)
async def csv_download(request: Request, viewer: Viewer) -> Response:
    section = request.path_params["section"]
    if section not in reports.SECTIONS:
        raise Refused(404, "not_found_title", "rep_empty")
    choice, errors = _choice(request, viewer)
    if errors:
        raise Refused(400, "rep_title", errors[0].key, **_values(viewer, errors[0]))
    payload = await fetch(request, choice)
    _audit(request, viewer, choice, f"csv:{section}")
    name = f"carelay-{section}-{choice.first.isoformat()}-{choice.last.isoformat()}.csv"
    return Response(reports.csv_text(payload["sections"][section]), media_type="text/csv; charset=utf-8",
                    headers={**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})
