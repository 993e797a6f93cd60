"""Sign-in and sign-out pages. Every attempt is audited (who tried, from where, the outcome; never the
password) and written to `staff.signins`, where every gateway process counts failures in a row for the
lock-out (gateway.console.lockout)."""
from __future__ import annotations

import uuid

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.audit import ALLOWED, DENIED, Actor
from gateway.console import sessions
from gateway.console.accounts import valid_name
from gateway.console.context import Console, console
from gateway.console.lockout import FAILED, LOCKED, SIGNED_OUT, SUCCEEDED, SignInEvent
from gateway.console.passwords import verify_password
from gateway.console.web import (
    SIGNIN,
    SIGNOUT,
    Refused,
    SignInRequired,
    Viewer,
    actor_of,
    clear_session,
    field,
    language,
    load_viewer,
    refused_page,
    render,
    safe_next,
    set_session,
)
from gateway.services import remote_addr

SIGNIN_ACTION = "console.signin"
LOCKOUT_ACTION = "console.lockout"
FIELDS = ("organization", "username", "password")


def _signin_form(request: Request, *, status: int = 200, errors: list[tuple[str, str]] | None = None,
                 values: dict[str, str] | None = None) -> Response:
    con = console(request)
    nonce, cookie = con.signer.new_signin_nonce()
    ended = request.query_params.get("ended")
    response = render(request, "signin.html", {
        "csrf": con.signer.csrf(sessions.signin_binding(nonce)),
        "next": safe_next(request.query_params.get("next") or (values or {}).get("next")),
        "errors": errors or [], "values": values or {},
        "ended": ended if ended in (sessions.IDLE, sessions.EXPIRED) else None,
        "signed_out": request.query_params.get("signed_out") == "1",
        "lock_minutes": max(1, con.policy.lock_ms // 60_000),
    }, status=status)
    response.set_cookie(sessions.SIGNIN_COOKIE, cookie, path=sessions.PATH, httponly=True, samesite="strict",
                        secure=con.secure_cookies)
    return response


async def signin_page(request: Request) -> Response:
    try:
        load_viewer(request, touch=False)
    except SignInRequired:
        return _signin_form(request)
    return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)


async def _publish(con: Console, event: SignInEvent) -> None:
    topic = con.svc.topics.staff_signins
    await con.svc.publisher.wait([con.svc.publisher.submit(topic.name, event.key, topic.codec.encode(event.record()))],
                                 label="console sign-in")
    con.signins.record(event)  # this process judges the next attempt on it without waiting for Kafka


def _event(con: Console, org: str, user: str, kind: str, remote: str | None,
           session_id: str | None = None) -> SignInEvent:
    return SignInEvent(str(uuid.uuid4()), org, user, kind, con.clock(), session_id, remote)


async def signin(request: Request) -> Response:
    con = console(request)
    svc = con.svc
    data: FormData = await request.form()
    remote = remote_addr(request)
    org, user, password = field(data, "organization", 64), field(data, "username", 64), field(data, "password", 1024)
    values = {"organization": org, "username": user, "next": field(data, "next", 500)}
    nonce = con.signer.signin_nonce(request.cookies.get(sessions.SIGNIN_COOKIE))
    if nonce is None or not con.signer.csrf_ok(sessions.signin_binding(nonce), field(data, "csrf")):
        svc.auditor.fire(Actor("anonymous"), SIGNIN_ACTION, DENIED, resource=SIGNIN, reason="csrf", remote_addr=remote)
        return refused_page(request, Refused(403, "csrf_title", "csrf_body"), None)
    if not (con.accounts.loaded and con.signins.loaded):  # judging now could count a good password as a failure
        return refused_page(request, Refused(503, "loading_title", "loading_body"), None)
    missing = [name for name, value in zip(FIELDS, (org, user, password), strict=True) if not value]
    if missing:
        return _signin_form(request, status=400, errors=[(name, "required") for name in missing], values=values)
    actor = Actor(f"console:{user}", None, org)
    if not (valid_name(org) and valid_name(user)):  # no account can have this name: nothing to count
        await run_in_threadpool(verify_password, None, password)
        svc.auditor.fire(actor, SIGNIN_ACTION, DENIED, resource=SIGNIN, reason="bad_credentials", remote_addr=remote)
        svc.metrics.signin_failed("bad_credentials", remote)
        return _signin_form(request, status=401, errors=[("password", "credentials")], values=values)
    now = con.clock()
    if con.signins.attempts(org, user, con.policy, now).locked(con.policy, now):
        await svc.publisher.wait([svc.auditor.submit(actor, SIGNIN_ACTION, DENIED, resource=SIGNIN, reason="locked",
                                                     remote_addr=remote)], label="audit")
        svc.metrics.signin_failed("locked", remote)
        return _signin_form(request, status=403, errors=[("password", "locked")], values=values)
    account = con.accounts.get(org, user)
    usable = account is not None and not account.disabled
    ok = await run_in_threadpool(verify_password, account.password_hash if usable and account else None, password)
    if not ok or account is None:
        await _publish(con, _event(con, org, user, FAILED, remote))
        attempts = con.signins.attempts(org, user, con.policy, con.clock())
        audits = [svc.auditor.submit(actor, SIGNIN_ACTION, DENIED, resource=SIGNIN, reason="bad_credentials",
                                     remote_addr=remote, details={"failures_in_a_row": str(attempts.failures)})]
        locked = attempts.failures == con.policy.failures
        if locked:
            await _publish(con, _event(con, org, user, LOCKED, remote))
            audits.append(svc.auditor.submit(actor, LOCKOUT_ACTION, DENIED, resource=SIGNIN,
                                             reason="too_many_failures", remote_addr=remote,
                                             details={"failures_in_a_row": str(attempts.failures),
                                                      "locked_for_s": str(con.policy.lock_ms // 1000)}))
        await svc.publisher.wait(audits, label="audit")
        svc.metrics.signin_failed("bad_credentials", remote)
        return _signin_form(request, status=403 if locked else 401,
                            errors=[("password", "locked" if locked else "credentials")], values=values)
    session = sessions.Session.begin(org, user, con.clock())
    await _publish(con, _event(con, org, user, SUCCEEDED, remote, session.session_id))
    await svc.publisher.wait([svc.auditor.submit(actor_of(account), SIGNIN_ACTION, ALLOWED, resource=SIGNIN,
                                                 remote_addr=remote, details={"session": session.session_id})],
                             label="audit")
    response = RedirectResponse(safe_next(values["next"]), status_code=303)
    set_session(con, response, session)
    response.delete_cookie(sessions.SIGNIN_COOKIE, path=sessions.PATH, httponly=True, samesite="strict",
                           secure=con.secure_cookies)
    return response


async def signout(request: Request) -> Response:
    con = console(request)
    try:
        viewer: Viewer = load_viewer(request, touch=False)
    except SignInRequired:
        response: Response = RedirectResponse(SIGNIN, status_code=303)
        clear_session(con, response)
        return response
    data = await request.form()
    if not con.signer.csrf_ok(sessions.session_binding(viewer.session), field(data, "csrf")):
        return refused_page(request, Refused(403, "csrf_title", "csrf_body"), viewer)
    s, remote = viewer.session, remote_addr(request)
    await _publish(con, _event(con, s.organization_id, s.username, SIGNED_OUT, remote, s.session_id))
    await con.svc.publisher.wait([con.svc.auditor.submit(viewer.actor, SIGNOUT, ALLOWED, resource=SIGNIN,
                                                         reason="user", remote_addr=remote,
                                                         details={"session": s.session_id})], label="audit")
    response = RedirectResponse(f"{SIGNIN}?signed_out=1&lang={language(request)}", status_code=303)
    clear_session(con, response)
    return response
