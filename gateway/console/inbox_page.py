"""The inbox page, its actions (acknowledge, assign to me, resolve) and its live updates over SSE.

The page's data is one pure call (gateway.console.inbox.build) over the views; a live update renders
the same partial templates the page uses (`_notice.html`, `_counts.html`), as htmx out-of-band swaps.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from gateway.audit import ALLOWED
from gateway.console import inbox
from gateway.console.context import TEMPLATES, Console, console, local_time
from gateway.console.hub import Change
from gateway.console.i18n import REASONS
from gateway.console.roles import Permission, allows
from gateway.console.web import (
    IDLE_LEFT_HEADER,
    PAGE_HEADERS,
    Refused,
    SignInRequired,
    Viewer,
    field,
    idle_left_ms,
    load_viewer,
    page,
    render,
    to_signin,
)
from gateway.services import remote_addr
from gateway.staff import Notice

PATH = "/console/inbox"
HEARTBEAT_S = 15.0
REASON_CODES = (*(code for code in REASONS if code != inbox.OTHER), inbox.OTHER)


def _reason(raw: str | None) -> str | None:
    return raw if raw in REASON_CODES else None


def _inbox(con: Console, viewer: Viewer, reason: str | None, page: int = 1) -> inbox.Inbox:
    org = viewer.account.organization_id
    return inbox.build(con.svc.staff.held(org), con.actions.handled(org), reason, page=page)


def _context(con: Console, viewer: Viewer, box: inbox.Inbox) -> dict[str, Any]:
    tz, _ = con.svc.settings.care.for_org(viewer.account.organization_id)
    return {"inbox": box, "reasons": REASON_CODES, "can_act": viewer.can(Permission.INBOX_ACT),
            "local": local_time(tz), "inbox_reason": box.reason, "viewer": viewer, "t": viewer.words}


@page(Permission.INBOX_READ)
async def inbox_page(request: Request, viewer: Viewer) -> Response:
    con = console(request)
    box = _inbox(con, viewer, _reason(request.query_params.get("reason")),
                 inbox.parse_page(request.query_params.get("page")))
    svc = con.svc
    # no PHI here (pseudonyms and codes), but who looked at which patients' notices is on the trail
    await svc.publisher.wait([svc.auditor.submit(viewer.actor, Permission.INBOX_READ.value, ALLOWED, resource=PATH,
                                                 remote_addr=remote_addr(request),
                                                 details={"shown": str(len(box.items))})], label="audit")
    done = request.query_params.get("done")
    return render(request, "inbox.html", {**_context(con, viewer, box),
                                          "done": done if done in inbox.ACTIONS else None}, viewer=viewer)


def _find(con: Console, org: str, notice_id: str) -> Notice | None:
    return next((n for n in con.svc.staff.held(org) if n.event_id == notice_id), None)


@page(Permission.INBOX_ACT, form=True)
async def act(request: Request, viewer: Viewer, data: FormData) -> Response:
    con = console(request)
    svc = con.svc
    org = viewer.account.organization_id
    notice_id = request.path_params["notice_id"]
    action = inbox.parse_action(field(data, "action"))
    notice = _find(con, org, notice_id)  # only a notice of the viewer's own organization
    if notice is None or action is None:
        raise Refused(404 if notice is None else 400, "not_found_title", "not_found_body")
    h = inbox.handling_for(action, org, notice_id, viewer.account.username, con.clock())
    topic = svc.topics.staff_actions
    await svc.publisher.wait([
        svc.publisher.submit(topic.name, h.key, topic.codec.encode(h.record())),
        svc.auditor.submit(viewer.actor, f"console.notice.{action}", ALLOWED, resource=notice_id,
                           remote_addr=remote_addr(request)),
    ], label="staff action")
    con.actions.record(h)  # this process's next page shows it without waiting for Kafka
    reason = _reason(field(data, "reason"))
    if request.headers.get("hx-request"):
        box = _inbox(con, viewer, reason)
        html = render_partial("_notice.html", {**_context(con, viewer, box), "item": inbox.Item(notice, h)})
        return Response(html, media_type="text/html", headers=PAGE_HEADERS)
    target = f"{PATH}?done={action}" + (f"&reason={reason}" if reason else "")
    return RedirectResponse(target, status_code=303)


def render_partial(name: str, ctx: dict[str, Any]) -> str:
    return TEMPLATES.get_template(name).render(ctx)


# One change reaches every open stream of its organization on this process: the inbox it is shown against
# is built once per change and filter, not once per browser (with 200 inboxes open and 1,000 notices held,
# building it per stream kept the event loop busy for over a second). Streams take a change in turn on
# the event loop, so the last change's inbox is the one to share.
_shared: dict[tuple[int, str, str | None], tuple[Change, inbox.Inbox]] = {}


def _inbox_for(con: Console, viewer: Viewer, reason: str | None, change: Change) -> inbox.Inbox:
    key = (id(con), viewer.account.organization_id, reason)
    held = _shared.get(key)
    if held is not None and held[0] is change:
        return held[1]
    box = _inbox(con, viewer, reason)
    _shared[key] = (change, box)
    return box


def change_fragment(con: Console, viewer: Viewer, reason: str | None, change: Change, page: int = 1) -> str | None:
    """The htmx out-of-band fragment one view change makes for one browser, or None when it shows nothing.
    A new notice goes on top of the first page only: an older page's top is no place for it."""
    org = viewer.account.organization_id
    box = _inbox_for(con, viewer, reason, change)
    ctx = {**_context(con, viewer, box), "oob": True}
    parts: list[str] = []
    if isinstance(change, Notice):
        if change.type != inbox.ATTENTION:
            return None
        if page == 1 and (reason is None or inbox.reason_of(change) == reason):
            # the swap's own content (sse-swap, afterbegin): the same partial as the page, not out-of-band
            parts.append(render_partial("_notice.html", {**ctx, "oob": False,
                                                         "item": inbox.Item(change, con.actions.get(org,
                                                                                                    change.event_id))}))
    elif change.closes:
        parts.append(render_partial("_gone.html", {**ctx, "notice_id": change.notice_id}))
    else:
        notice = _find(con, org, change.notice_id)
        if notice is None or (reason is not None and inbox.reason_of(notice) != reason):
            return None
        parts.append(render_partial("_notice.html", {**ctx, "item": inbox.Item(notice, change)}))
    parts.append(render_partial("_counts.html", ctx))
    parts.append(render_partial("_empty.html", ctx))
    return "".join(parts)


def sse(event: str, html: str) -> str:
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


async def events(request: Request) -> Response:
    con = console(request)
    try:
        viewer = load_viewer(request, touch=False)  # a stream is not activity: it must not keep a session alive
    except SignInRequired as exc:
        return to_signin(request, exc.ended)
    if not allows(viewer.account.role, Permission.INBOX_READ):
        return Response(status_code=403)
    reason = _reason(request.query_params.get("reason"))
    page = inbox.parse_page(request.query_params.get("page"))
    sub = con.hub.subscribe(viewer.account.organization_id)

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 2000\n\n"
            while True:
                try:
                    change = await asyncio.wait_for(sub.queue.get(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    if not _still_valid(con, viewer):
                        return
                    yield ": keep-alive\n\n"
                    continue
                if change is None or not _still_valid(con, viewer):
                    return  # too slow to keep up, or the session ended: the browser reconnects or signs in
                html = change_fragment(con, viewer, reason, change, page)
                if html is not None:
                    yield sse("inbox", html)
        finally:
            con.hub.unsubscribe(sub)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _still_valid(con: Console, viewer: Viewer) -> bool:
    """The stream's session, as of the cookie it was opened with: an active person's browser reopens it
    with a fresher cookie; an idle one's reconnect is refused."""
    now = con.clock()
    s, account = viewer.session, con.accounts.get(viewer.account.organization_id, viewer.account.username)
    return (account is not None and not account.disabled and now - s.seen_at < con.idle_ms
            and now - s.issued_at < con.max_ms and not con.signins.ended(s.session_id, now))


async def session_check(request: Request) -> Response:
    """Polled by the page (htmx): 204 while the session lasts, else HX-Redirect to sign in. Never touches."""
    try:
        viewer = load_viewer(request, touch=False)
    except SignInRequired as exc:
        return to_signin(request, exc.ended)
    return Response(status_code=204, headers={IDLE_LEFT_HEADER: str(idle_left_ms(console(request), viewer.session))})
