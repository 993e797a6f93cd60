"""One patient's conversation: the thread both ways with each outbound message's live status, the
patient's words and number (opened in the request for staff and admins, the view audited as
`console.phi.read` before the page is sent), the WhatsApp window, consent per channel, a loop-guard
pause with Resume, and the reply form (free text inside the window, else a template with its preview).

The page reads the console's views (gateway.console.thread_views, the staff-notification view, the
message-state view); the decisions are gateway.console.conversation's; writes are Kafka records
(gateway.console.replies). Statuses tick by a poll of `/statuses` every 2 s with JavaScript (ids and
statuses only: nothing to audit, and it never restarts the idle clock) until every one is final;
without it, a reload.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway.audit import ALLOWED
from gateway.console import conversation as conv
from gateway.console import replies
from gateway.console.context import TEMPLATES, Console, console, local_time
from gateway.console.patient_page import PHI_READ
from gateway.console.roles import Permission
from gateway.console.web import (
    PAGE_HEADERS,
    Refused,
    SignInRequired,
    Viewer,
    field,
    load_viewer,
    page,
    render,
    to_signin,
)
from gateway.services import remote_addr
from gateway.state import present
from schemas.errors import CarelayError
from schemas.phi import Binding
from schemas.templates import LANGUAGES

log = logging.getLogger(__name__)

PATH = "/console/patients/{recipient_id}/conversation"
SHOWN = 100  # the newest messages on the page; older ones are in each message's page and in Kafka
POLL_S = 2
NEWS_S = 5  # how often an open page asks whether newer messages arrived
STOP_POLLING = 286


def path_of(recipient_id: str) -> str:
    return PATH.format(recipient_id=quote(recipient_id, safe=""))


@dataclass(frozen=True)
class Line:
    """One thread entry as the page shows it: words opened, status in words."""

    entry: conv.Entry
    words: str | None = None
    unreadable: bool = False
    status: conv.Status | None = None


@dataclass
class Opened:
    number: str | None = None
    texts: int = 0


def _open(con: Console, field_name: str, sealed: Mapping[str, Any] | None, binding: Binding) -> str | None:
    if sealed is None:
        return None
    return con.svc.cipher.open(field_name, sealed, binding)


def _line(con: Console, e: conv.Entry, opened: Opened) -> Line:
    svc = con.svc
    try:
        if e.inbound is not None:
            m = e.inbound
            words = _open(con, "text", m.sealed_text, Binding(m.organization_id, m.event_id))
            opened.texts += words is not None
            return Line(e, words)
        o = e.outbound
        assert o is not None
        record = svc.state.get(o.message_id)
        status = conv.status_of(present(record) if record is not None else None)
        bound = Binding(o.organization_id, o.message_id)
        if o.template is not None:
            params = replies.parse_params(_open(con, "params", o.sealed_params, bound) or "{}")
            words = _template_text(con, o.template, o.language, params)
        else:
            words = _open(con, "text", o.sealed_text, bound)
        opened.texts += words is not None
        return Line(e, words, status=status)
    except CarelayError as exc:
        log.warning("a message of the conversation did not open: %s", type(exc).__name__)
        return Line(e, None, unreadable=True, status=None if e.outbound is None else conv.status_of(None))


def _template_text(con: Console, name: str, language: str, params: Mapping[str, str]) -> str | None:
    try:
        rendering = con.svc.templates.get(name).rendering(language)
    except CarelayError:
        return None
    return conv.placeholders(rendering.sms, params)


def _number(con: Console, inbound: list[conv.Inbound], outbound: list[conv.Outbound]) -> str | None:
    """The patient's number from their newest message that holds it: their own, else one sent to them."""
    for m in reversed(inbound):
        try:
            if m.sealed_sender is not None:
                return con.svc.cipher.open("sender", m.sealed_sender, Binding(m.organization_id, m.event_id))
        except CarelayError:
            continue
    for o in reversed(outbound):
        try:
            if o.sealed_recipient is not None:
                return con.svc.cipher.open("recipient", o.sealed_recipient, Binding(o.organization_id, o.message_id))
        except CarelayError:
            continue
    return None


@dataclass
class Form:
    """The reply form as shown again (a refusal or a preview): what was typed, what went wrong."""

    text: str = ""
    template: str | None = None
    language: str | None = None
    params: dict[str, str] | None = None
    error: tuple[str, str] | None = None  # (field, reason)
    preview: bool = False
    key: str = ""


def _facts(con: Console, org: str, rid: str) -> dict[str, Any]:
    inbound = con.conversation.inbound.of(org, rid)
    outbound = con.conversation.outbound.of(org, rid)
    marks = con.conversation.consent.of(org, rid)
    notices = [n for n in con.svc.staff.held(org) if n.recipient_id == rid]
    now = con.clock()
    win = conv.window(inbound, now)
    return {"inbound": inbound, "outbound": outbound, "marks": marks, "notices": notices, "now": now, "window": win,
            "offer": conv.reply_offer(win, marks),
            "pause": conv.pause(notices, con.conversation.resumes.resumed_at(org, rid), now)}


def _templates(con: Console, org: str, chosen: str | None, language: str, params: Mapping[str, str]) -> \
        dict[str, Any]:
    catalog = con.svc.templates
    out: dict[str, Any] = {"names": catalog.names(org), "chosen": None, "params": (), "preview": None}
    if chosen is not None and chosen in out["names"]:
        t = catalog.get(chosen)
        values = {p: params.get(p, "") for p in t.params}
        out.update(chosen=chosen, params=tuple(values.items()),
                   preview=_template_text(con, chosen, language if language in t.languages else "es", values))
    return out


async def _show(request: Request, viewer: Viewer, form: Form, status: int = 200) -> Response:
    con = console(request)
    svc = con.svc
    org = viewer.account.organization_id
    rid = request.path_params["recipient_id"][:64]
    f = _facts(con, org, rid)
    if not (f["inbound"] or f["outbound"] or f["notices"]):
        raise Refused(404, "not_found_title", "conv_not_found")
    entries, total = conv.thread(f["inbound"], f["outbound"], SHOWN)
    opened = Opened()
    lines = [_line(con, e, opened) for e in entries]
    opened.number = _number(con, f["inbound"], f["outbound"])
    # no PHI leaves without a trail: the view is audited (and acknowledged by Kafka) before the page is sent
    await svc.publisher.wait([svc.auditor.submit(
        viewer.actor, PHI_READ, ALLOWED, resource=rid, remote_addr=remote_addr(request),
        details={"page": "conversation", "messages": str(len(lines)), "texts_opened": str(opened.texts),
                 "number_shown": "yes" if opened.number else "no"})], label="audit")
    svc.metrics.phi_viewed(org, viewer.account.username, rid)  # breach detection (docs/monitoring.md)
    tz, _ = svc.settings.care.for_org(org)
    language = form.language or conv.newest_language(f["outbound"], viewer.words.lang)
    chosen = form.template or request.query_params.get("template")
    ctx = {**f, "recipient_id": rid, "conv_path": path_of(rid), "lines": lines, "total": total, "number": opened.number,
           "local": local_time(tz), "consent": conv.consent_rows(f["marks"]), "form": form,
           "key": form.key or replies.new_key(), "language": language if language in LANGUAGES else "es",
           "message_languages": LANGUAGES, "templates": _templates(con, org, chosen, language, form.params or {}),
           "sent": request.query_params.get("sent"), "resumed": request.query_params.get("resumed") == "1",
           "live": any(ln.status is not None and not ln.status.final for ln in lines), "poll_s": POLL_S,
           "newest": conv.newest_at(f["inbound"], f["outbound"]), "news_s": NEWS_S,
           "max_text": conv.MAX_TEXT}
    return render(request, "conversation.html", ctx, status=status, viewer=viewer)


@page(Permission.PHI_READ)
async def conversation_page(request: Request, viewer: Viewer) -> Response:
    return await _show(request, viewer, Form())


@page(Permission.PHI_READ, form=True)
async def reply(request: Request, viewer: Viewer, data: FormData) -> Response:
    con = console(request)
    org, rid = viewer.account.organization_id, request.path_params["recipient_id"][:64]
    kind = field(data, "kind", 20)
    template = field(data, "template", 100) or None
    language = field(data, "language", 5)
    raw = data.get("text")
    text = raw if isinstance(raw, str) else ""
    params = {k[6:]: field(data, k, 300) for k in data if k.startswith("param_")}
    form = Form(text[:conv.MAX_TEXT + 100], template, language or None, params, key=field(data, "key", 64))
    if field(data, "action", 20) == "preview":
        form.preview = True
        return await _show(request, viewer, form)
    f = _facts(con, org, rid)
    why = conv.refusal(f["offer"], kind, text, template, con.svc.templates.names(org))
    number = _number(con, f["inbound"], f["outbound"]) if why is None else None
    if why is None and number is None:
        why = ("reply", "no_number")
    if why is None and not form.key:
        why = ("reply", "unavailable")
    if why is not None:
        form.error = why
        return await _show(request, viewer, form, status=409 if why[1] in ("window_closed", "no_consent") else 400)
    assert number is not None
    ask = replies.Ask(form.key, f["offer"].channels, language if language in LANGUAGES else "es",
                      text=text if kind == conv.FREE_TEXT else None,
                      template=template if kind == conv.TEMPLATE else None,
                      params=tuple(params.items()) if kind == conv.TEMPLATE else ())
    try:
        sent = await replies.send(con.svc, viewer.actor, org, rid, number, ask, viewer.account.username,
                                  con.clock(), remote_addr(request))
    except replies.ReplyRefused as exc:
        form.error = (exc.field, exc.reason)
        return await _show(request, viewer, form, status=503 if exc.reason == "unavailable" else 400)
    if sent.record:  # shown at once, before the record comes back from Kafka into the view
        con.conversation.outbound.apply(None, sent.record)
    return RedirectResponse(f"{path_of(rid)}?sent={quote(sent.message_id, safe='')}#reply-sent", status_code=303)


@page(Permission.PHI_READ, form=True)
async def resume(request: Request, viewer: Viewer, data: FormData) -> Response:
    con = console(request)
    org, rid = viewer.account.organization_id, request.path_params["recipient_id"][:64]
    now = con.clock()
    try:
        await replies.resume(con.svc, viewer.actor, org, rid, now, remote_addr(request))
    except replies.ReplyRefused:
        return await _show(request, viewer, Form(error=("resume", "unavailable")), status=503)
    con.conversation.resumes.note(org, rid, now)
    return RedirectResponse(f"{path_of(rid)}?resumed=1#automation", status_code=303)


async def statuses(request: Request) -> Response:
    """Polled by the page: each shown outbound message's status as an out-of-band swap of the same
    partial the page renders. Ids and statuses only; never touches the session."""
    try:
        viewer = load_viewer(request, touch=False)
    except SignInRequired as exc:
        return to_signin(request, exc.ended)
    if not viewer.can(Permission.PHI_READ):
        return Response(status_code=403, headers=PAGE_HEADERS)
    con = console(request)
    org, rid = viewer.account.organization_id, request.path_params["recipient_id"][:64]
    outbound = con.conversation.outbound.of(org, rid)[-SHOWN:]
    shown = []
    for o in outbound:
        record = con.svc.state.get(o.message_id)
        shown.append((o.message_id, conv.status_of(present(record) if record is not None else None)))
    html = TEMPLATES.get_template("_conv_statuses.html").render(t=viewer.words, statuses=shown)
    # 286: htmx swaps this answer and stops polling (every message shown has its final status)
    done = all(st.final for _, st in shown)
    return Response(html, status_code=STOP_POLLING if done else 200, media_type="text/html", headers=PAGE_HEADERS)


async def news(request: Request) -> Response:
    """Polled by an open page: how many messages arrived after the newest it shows, as a line with a
    link that reloads it (the words come only with the audited page). Counts only; the session is
    not touched, so an open page still signs out when idle."""
    try:
        viewer = load_viewer(request, touch=False)
    except SignInRequired as exc:
        return to_signin(request, exc.ended)
    if not viewer.can(Permission.PHI_READ):
        return Response(status_code=403, headers=PAGE_HEADERS)
    try:
        seen = int(request.query_params.get("seen", "0"))
    except ValueError:
        return Response("seen: a time in milliseconds", status_code=400, media_type="text/plain",
                        headers=PAGE_HEADERS)
    con = console(request)
    org, rid = viewer.account.organization_id, request.path_params["recipient_id"][:64]
    from_patient, from_clinic = conv.newer(con.conversation.inbound.of(org, rid),
                                           con.conversation.outbound.of(org, rid), seen)
    html = TEMPLATES.get_template("_conv_news.html").render(
        t=viewer.words, from_patient=from_patient, from_clinic=from_clinic, conv_path=path_of(rid))
    return Response(html, media_type="text/html", headers=PAGE_HEADERS)


ROUTES = (
    Route("/patients/{recipient_id}/conversation", conversation_page, methods=["GET"]),
    Route("/patients/{recipient_id}/conversation/statuses", statuses, methods=["GET"]),
    Route("/patients/{recipient_id}/conversation/news", news, methods=["GET"]),
    Route("/patients/{recipient_id}/conversation/reply", reply, methods=["POST"]),
    Route("/patients/{recipient_id}/conversation/resume", resume, methods=["POST"]),
)
