"""The admin's operations page: circuits, unseen accepts and dead letters (live over SSE), a dead letter's
detail, and its audited replay onto the topic it came from.

The page's data is one pure call (gateway.console.operations.build) over the views of
gateway.console.ops_views; the live part re-renders the same partial (`_ops_live.html`) the page includes.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from gateway.audit import ALLOWED
from gateway.console import operations as ops
from gateway.console.context import TEMPLATES, Console, console, local_time
from gateway.console.ops_views import NO_ORGANIZATION
from gateway.console.roles import Permission, allows
from gateway.console.sessions import ended_by_time
from gateway.console.web import Refused, SignInRequired, Viewer, field, load_viewer, page, render, to_signin
from gateway.services import remote_addr

PATH = "/console/operations"
DETAIL = f"{PATH}/deadletters"
READ, LETTER_READ, REPLAY = "console.operations.read", "console.deadletter.read", "console.deadletter.replay"
HEARTBEAT_S = 15.0  # the live part is also re-rendered this often: an unseen accept ages without any record
_in_flight: set[str] = set()  # dead letters this process is replaying right now (a double click, two tabs)


def _operations(con: Console, org: str, reason: str | None) -> ops.Operations:
    views = con.ops
    instances = [i for i in views.instances if i.organization_id == org]
    accepted = [(mid, at) for mid, at in con.svc.accepted.of_organization(org) if not con.svc.state.has(mid)]
    counts = views.dead_letters.counts(org)
    return ops.build(ops.channel_rows(instances, views.circuits.transitions()),
                     ops.unseen(accepted, con.clock(), int(con.svc.settings.gateway.unseen_after_s * 1000)),
                     counts, views.dead_letters.of_organization(org), reason if reason in counts else None,
                     views.replays.all(), sum(views.dead_letters.counts(NO_ORGANIZATION).values()))


def _context(con: Console, viewer: Viewer, o: ops.Operations) -> dict[str, Any]:
    tz, _ = con.svc.settings.care.for_org(viewer.account.organization_id)
    return {"o": o, "local": local_time(tz), "loaded": con.ops.loaded, "viewer": viewer, "t": viewer.words,
            "rates": con.ops.rates.rates(viewer.account.organization_id, con.clock()), "lags": con.ops.lag.rows(),
            "unseen_after_s": f"{con.svc.settings.gateway.unseen_after_s:g}"}


@page(Permission.OPERATIONS)
async def operations_page(request: Request, viewer: Viewer) -> Response:
    con = console(request)
    o = _operations(con, viewer.account.organization_id, request.query_params.get("reason"))
    svc = con.svc
    await svc.publisher.wait([svc.auditor.submit(viewer.actor, READ, ALLOWED, resource=PATH,
                                                 remote_addr=remote_addr(request),
                                                 details={"dead_letters": str(len(o.dead_letters))})], label="audit")
    return render(request, "operations.html", _context(con, viewer, o), viewer=viewer)


def _original(con: Console, letter: ops.DeadLetter) -> tuple[tuple[str, str | None], ...] | None:
    """The original record's fields, when it decodes (it often does not: that made it a dead letter)."""
    if letter.value is None:
        return None
    try:
        return ops.shown_fields(con.svc.topics.by_name(letter.source_topic).codec.decode(letter.value))
    except Exception:  # an unknown topic, a bad frame, a schema the registry does not have
        return None


def _known_topic(con: Console, topic: str) -> bool:
    try:
        con.svc.topics.by_name(topic)
    except KeyError:
        return False
    return True


def _detail(request: Request, viewer: Viewer, letter: ops.DeadLetter, *, status: int = 200,
            errors: tuple[str, ...] = (), why: str = "", refused: str | None = None) -> Response:
    con = console(request)
    replay = con.ops.replays.get(letter.dead_letter_id)
    refusal = refused or ops.replay_refusal(letter, replay, _known_topic(con, letter.source_topic))
    tz, _ = con.svc.settings.care.for_org(viewer.account.organization_id)
    key = letter.key.decode("utf-8", "replace") if letter.key is not None else None
    return render(request, "deadletter.html", {
        "d": letter, "key": key, "fields": _original(con, letter), "replay": replay, "refusal": refusal,
        "errors": errors, "why": why, "done": request.query_params.get("done") == "1", "local": local_time(tz),
        "conflict": status == 409}, status=status, viewer=viewer)


def _letter(con: Console, viewer: Viewer, request: Request) -> ops.DeadLetter:
    letter = con.ops.dead_letters.get(viewer.account.organization_id, request.path_params["dead_letter_id"][:40])
    if letter is None:  # another organization's dead letter is indistinguishable from an unknown one
        raise Refused(404, "not_found_title", "ops_letter_not_found")
    return letter


@page(Permission.OPERATIONS)
async def dead_letter_page(request: Request, viewer: Viewer) -> Response:
    con = console(request)
    letter = _letter(con, viewer, request)
    svc = con.svc
    await svc.publisher.wait([svc.auditor.submit(viewer.actor, LETTER_READ, ALLOWED, resource=letter.dead_letter_id,
                                                 remote_addr=remote_addr(request),
                                                 details={"source_topic": letter.source_topic})], label="audit")
    return _detail(request, viewer, letter)


@page(Permission.OPERATIONS, form=True)
async def replay(request: Request, viewer: Viewer, data: FormData) -> Response:
    con = console(request)
    svc, org = con.svc, viewer.account.organization_id
    if not con.ops.loaded:  # the replays made elsewhere may not be known yet
        raise Refused(503, "ops_loading_title", "ops_loading_body")
    letter = _letter(con, viewer, request)
    did = letter.dead_letter_id
    typed = field(data, "why", 1000)
    refusal = ops.replay_refusal(letter, con.ops.replays.get(did), _known_topic(con, letter.source_topic))
    if refusal is not None or did in _in_flight:  # another request of this process is replaying it
        return _detail(request, viewer, letter, status=409, why=typed, refused=refusal or ops.ALREADY_REPLAYED)
    why = ops.clean_why(typed)
    if why is None:
        return _detail(request, viewer, letter, status=400, errors=("why",), why=typed)
    assert letter.value is not None  # replay_refusal said so
    _in_flight.add(did)
    try:
        key, record = svc.auditor.encode(
            viewer.actor, REPLAY, ALLOWED, resource=did, remote_addr=remote_addr(request),
            details={"why": why, "source_topic": letter.source_topic,
                     "source": f"{letter.source_partition}:{letter.source_offset}", "reason": letter.reason})
        # the original record, the audit trail's record, and the same record kept per dead letter (the
        # refusal of a second replay, on every process): the answer waits for all three
        await svc.publisher.wait([
            svc.publisher.submit(letter.source_topic, letter.key, letter.value),
            svc.publisher.submit(svc.topics.audit.name, key, record),
            svc.publisher.submit(svc.topics.deadletter_replays.name, did, record),
        ], label="dead-letter replay")
        con.ops.replays.record(ops.Replay(did, viewer.actor.name, org, con.clock(), why))
    finally:
        _in_flight.discard(did)
    return RedirectResponse(f"{DETAIL}/{did}?done=1", status_code=303)


def live_fragment(con: Console, viewer: Viewer, reason: str | None) -> str:
    o = _operations(con, viewer.account.organization_id, reason)
    html: str = TEMPLATES.get_template("_ops_live.html").render(_context(con, viewer, o))
    return html


def _still_valid(con: Console, viewer: Viewer) -> bool:
    now, s = con.clock(), viewer.session
    account = con.accounts.get(viewer.account.organization_id, viewer.account.username)
    return (account is not None and not account.disabled and allows(account.role, Permission.OPERATIONS)
            and ended_by_time(s, now, con.idle_ms, con.max_ms) is None and not con.signins.ended(s.session_id, now))


async def events(request: Request) -> Response:
    """`text/event-stream`: the live part of the page, re-rendered on each change and every HEARTBEAT_S."""
    con = console(request)
    try:
        viewer = load_viewer(request, touch=False)  # a stream is not activity: it never keeps a session alive
    except SignInRequired as exc:
        return to_signin(request, exc.ended)
    if not viewer.can(Permission.OPERATIONS):
        return Response(status_code=403)
    org, reason = viewer.account.organization_id, request.query_params.get("reason")
    wake = con.ops.pulse.subscribe(org)

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 2000\n\n"
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.get(), timeout=HEARTBEAT_S)
                if not _still_valid(con, viewer):
                    return
                html = live_fragment(con, viewer, reason)
                yield "event: ops\n" + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n"
        finally:
            con.ops.pulse.unsubscribe(org, wake)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
