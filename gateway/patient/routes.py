"""The patient page under `/p/{token}`: the page, its answers and replies (forms with CSRF), and its live
in-app messages (Server-Sent Events). Thin: the link rules are gateway.patient.links, what is shown
gateway.patient.page; every view and action is audited, every failure answers the same 404."""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.templating import Jinja2Templates

from gateway.audit import ALLOWED, REJECTED, Actor
from gateway.console import conversation as conv
from gateway.console.context import console
from gateway.console.replies import parse_params
from gateway.console.web import PAGE_HEADERS
from gateway.patient import links, page
from gateway.patient.context import PatientPage, patient_page
from gateway.patient.views import InApp, link_of
from gateway.patient.words import LANGUAGE_NAMES, LANGUAGES, Words, choose
from gateway.services import remote_addr, services
from schemas.errors import CarelayError
from schemas.phi import Binding

log = logging.getLogger(__name__)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
DEVICE_COOKIE = "carelay_patient_device"
LANG_COOKIE = "carelay_patient_lang"
BASE = "/p"
HEARTBEAT_S = 15.0
LABEL = "patient_page"
DONE = ("reply", *page.ACTIONS)


@dataclass(frozen=True)
class Opened:
    """A link that opened for this request: its record, the device it is bound to, the words to use."""

    token: str
    record: Mapping[str, Any]
    link: links.Link
    device_cookie: str
    words: Words
    new_device: bool
    csrf: str

    @property
    def actor(self) -> Actor:
        return Actor(f"patient:{self.link.link_id}", "patient", self.link.organization_id)


class Refusal(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _lang(request: Request, link_language: str | None) -> Words:
    return Words(choose(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), link_language))


async def _open(request: Request, *, bind: bool) -> Opened:
    """The link of this request, or Refusal: 429 for an address over its guesses, else one 404 for all."""
    pp, svc = patient_page(request), services(request)
    addr = remote_addr(request) or "unknown"
    now_ms = pp.clock()
    if not pp.loaded or not console(request).loaded:
        raise Refusal(503, "loading")
    if pp.guesses.blocked(addr, now_ms / 1000) is not None:
        raise Refusal(429, "guesses")
    token = request.path_params["token"]
    link_id = links.link_id_of(pp.key, token)
    record = pp.links.get(link_id) if link_id is not None else None
    link = link_of(record) if record is not None else None
    cookie = request.cookies.get(DEVICE_COOKIE) or ""
    verdict = links.access(link_id, link, now_ms, links.device_hash(cookie) if cookie else None)
    if verdict is links.Access.BIND and not bind:
        verdict = links.Access.OTHER_DEVICE  # a form or a stream never binds: only opening the page does
    if verdict not in (links.Access.OPEN, links.Access.BIND) or record is None or link is None:
        pp.guesses.miss(addr, now_ms / 1000)
        org = link.organization_id if link is not None else None
        svc.auditor.fire(Actor(f"patient:{link_id}" if link_id else "anonymous", "patient", org),
                         "patient.page.read", REJECTED, resource=link_id, reason=verdict.value, remote_addr=addr)
        raise Refusal(404, verdict.value)
    new_device = verdict is links.Access.BIND
    if new_device:
        cookie = cookie or links.new_device_cookie()
        record = {**record, "device": links.device_hash(cookie)}
        topic = svc.topics.patient_links
        await svc.publisher.publish(topic.name, link.link_id, topic.codec.encode(record), label=LABEL)
        pp.links.note(dict(record), link.link_id)
        link = link_of(record)
    return Opened(token, record, link, cookie, _lang(request, link.language), new_device,
                  links.csrf_for(pp.key, link.link_id, link.device or ""))


def _render(request: Request, template: str, context: Mapping[str, Any], words: Words, *, status: int = 200,
            opened: Opened | None = None) -> HTMLResponse:
    pp = patient_page(request)
    ctx = {"t": words, "lang": words.lang, "languages": LANGUAGE_NAMES, **context}
    response = TEMPLATES.TemplateResponse(request, template, ctx, status_code=status,
                                          headers={**PAGE_HEADERS, "Referrer-Policy": "no-referrer"})
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, path=BASE, httponly=True, samesite="lax",
                            secure=pp.secure_cookies)
    if opened is not None and opened.new_device:
        response.set_cookie(DEVICE_COOKIE, opened.device_cookie, max_age=max(0, (opened.link.expires_at_ms -
                            pp.clock()) // 1000), path=BASE, httponly=True, samesite="lax", secure=pp.secure_cookies)
    return response


def _refused(request: Request, exc: Refusal) -> HTMLResponse:
    words = _lang(request, None)
    title, body = ("busy_title", "busy_body") if exc.status == 429 else ("gone_title", "gone_body")
    headers = {"Retry-After": "60"} if exc.status in (429, 503) else {}
    response = _render(request, "gone.html", {"title_key": title, "body_key": body}, words,
                       status=404 if exc.status == 404 else exc.status)
    response.headers.update(headers)
    return response


def _opened_text(pp: PatientPage, request: Request, o: conv.Outbound) -> str | None:
    svc = services(request)
    bound = Binding(o.organization_id, o.message_id)
    try:
        if o.template is not None:
            params = parse_params(svc.cipher.open("params", o.sealed_params, bound) if o.sealed_params else "{}")
            return conv.placeholders(svc.templates.get(o.template).rendering(o.language).sms, params)
        return svc.cipher.open("text", o.sealed_text, bound) if o.sealed_text is not None else None
    except CarelayError as exc:
        log.warning("a message of the patient page did not open: %s", type(exc).__name__)
        return None


def _inapp_text(request: Request, n: InApp) -> str | None:
    try:
        return services(request).cipher.open("body", n.sealed_body, Binding(n.organization_id, n.notification_id))
    except CarelayError as exc:
        log.warning("an in-app message did not open: %s", type(exc).__name__)
        return None


async def _page(request: Request, opened: Opened, *, error: str | None = None, text: str = "") -> Response:
    pp, svc, con = patient_page(request), services(request), console(request)
    link, now = opened.link, pp.clock()
    org, rid = link.organization_id, link.recipient_id
    appointments = page.upcoming(con.plans.plans(org), con.answers.answers(org), rid, now)
    messages = [(o, _opened_text(pp, request, o)) for o in con.conversation.outbound.of(org, rid)]
    await svc.publisher.wait([svc.auditor.submit(opened.actor, "patient.page.read", ALLOWED, resource=link.link_id,
                                                remote_addr=remote_addr(request),
                                                details={"recipient_id": rid, "messages": str(len(messages))})],
                             label=LABEL)
    done = request.query_params.get("done")
    return _render(request, "patient.html", {
        "token": opened.token, "csrf": opened.csrf, "appointments": appointments, "messages": messages,
        "done": done if done in DONE else None, "error": error, "text": text, "local": page.local,
        "timezone": appointments[0].timezone if appointments else "UTC", "max_text": page.MAX_TEXT,
    }, opened.words, status=400 if error else 200, opened=opened)


async def patient(request: Request) -> Response:
    try:
        opened = await _open(request, bind=True)
    except Refusal as exc:
        return _refused(request, exc)
    return await _page(request, opened)


async def _form(request: Request) -> tuple[Opened, Mapping[str, Any]]:
    opened = await _open(request, bind=False)
    form = await request.form()
    given = form.get("csrf")
    if not links.csrf_ok(patient_page(request).key, opened.link.link_id, opened.link.device or "",
                         given if isinstance(given, str) else None):
        raise Refusal(403, "csrf")
    return opened, form


async def _publish_inbound(request: Request, opened: Opened, *, text: str | None, payload: str | None,
                           action: str) -> None:
    svc, pp = services(request), patient_page(request)
    link = opened.link
    instances = svc.directory.for_channel(link.organization_id, "INAPP")
    if not instances:
        raise Refusal(503, "no_inapp_channel")  # the clinic has no in-app channel: nothing could answer
    event_id = f"page:{uuid.uuid4()}"
    bound = Binding(link.organization_id, event_id)
    number = svc.cipher.open("recipient", opened.record["recipient"], Binding(link.organization_id, link.link_id))
    record = page.inbound_record(event_id=event_id, provider=instances[0].provider,
                                 organization_id=link.organization_id,
                                 recipient_id=link.recipient_id, sender=svc.cipher.seal("sender", number, bound),
                                 text=svc.cipher.seal_optional("text", text, bound), payload=payload,
                                 now_ms=pp.clock())
    topic = svc.topics.inbound
    futures = [svc.publisher.submit(topic.name, link.recipient_id, topic.codec.encode(record)),
               svc.auditor.submit(opened.actor, f"patient.page.{action}", ALLOWED, resource=link.link_id,
                                  remote_addr=remote_addr(request),
                                  details={"recipient_id": link.recipient_id, "event_id": event_id})]
    failed = next((r for r in await svc.publisher.settle(futures, label=LABEL) if r is not None), None)
    if failed is not None:
        raise failed


def _form_refused(request: Request, exc: Refusal) -> Response:
    if exc.status != 403:
        return _refused(request, exc)
    words = _lang(request, None)
    return _render(request, "gone.html", {"title_key": "expired_form_title", "body_key": "expired_form_body"},
                   words, status=403)


async def answer(request: Request) -> Response:
    try:
        opened, form = await _form(request)
    except Refusal as exc:
        return _form_refused(request, exc)
    action, message_id = form.get("action"), form.get("message_id")
    con, link = console(request), opened.link
    shown = page.upcoming(con.plans.plans(link.organization_id), {}, link.recipient_id, patient_page(request).clock())
    if action not in page.ACTIONS or not isinstance(message_id, str) or not page.answerable(shown, message_id):
        return await _page(request, opened)  # a stale or altered form: the page as it is now
    try:
        await _publish_inbound(request, opened, text=None, payload=f"{action}:{message_id}", action="answer")
    except Refusal as exc:
        return _form_refused(request, exc)
    return RedirectResponse(f"{BASE}/{opened.token}?done={action}#done", status_code=303)


async def reply(request: Request) -> Response:
    try:
        opened, form = await _form(request)
    except Refusal as exc:
        return _form_refused(request, exc)
    raw = form.get("text")
    text = raw if isinstance(raw, str) else ""
    error = page.reply_error(text)
    if error is not None:
        return await _page(request, opened, error=error, text=text[: page.MAX_TEXT * 2])
    try:
        await _publish_inbound(request, opened, text=text.strip(), payload=None, action="reply")
    except Refusal as exc:
        return _form_refused(request, exc)
    return RedirectResponse(f"{BASE}/{opened.token}?done=reply#done", status_code=303)


def sse(event: str, html: str) -> str:
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n"


async def events(request: Request) -> Response:
    try:
        opened = await _open(request, bind=False)
    except Refusal as exc:
        return Response(status_code=exc.status)
    pp, con = patient_page(request), console(request)
    shown = page.upcoming(con.plans.plans(opened.link.organization_id), {}, opened.link.recipient_id, pp.clock())
    timezone = shown[0].timezone if shown else "UTC"
    sub = pp.feed.subscribe((opened.link.organization_id, opened.link.recipient_id))
    template = TEMPLATES.get_template("_message.html")

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 2000\n\n"
            while True:
                try:
                    item = await asyncio.wait_for(sub.queue.get(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    if pp.clock() >= opened.link.expires_at_ms or pp.links.get(opened.link.link_id) is None:
                        return  # expired or revoked: the stream ends with the link
                    yield ": keep-alive\n\n"
                    continue
                if item is None:
                    return
                html = template.render(t=opened.words, at_ms=item.at_ms, words=_inapp_text(request, item),
                                       channel="INAPP", ident=item.message_id, local=page.local, timezone=timezone)
                yield sse("message", html)
        finally:
            pp.feed.unsubscribe(sub)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def mount() -> Mount:
    """The pages under /p (HTML for people, like the console: not in the API's OpenAPI document)."""
    return Mount(BASE, routes=[
        Route("/{token}", patient, methods=["GET"]),
        Route("/{token}/answer", answer, methods=["POST"]),
        Route("/{token}/reply", reply, methods=["POST"]),
        Route("/{token}/events", events, methods=["GET"]),
    ])
