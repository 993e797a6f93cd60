"""The request side of every console page: who is signed in, the language, CSRF, rendering, refusals.

`page(permission, form=...)` wraps an endpoint `(request, viewer[, form])`: it loads and checks the
session (absent, forged, idle, too old, signed out, account gone or disabled: to the sign-in page),
checks the role's permission (403 page), checks the CSRF token of a form (403 page), and sets the
re-signed session cookie on the answer, so each request restarts the idle clock.
"""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateway.audit import ALLOWED, Actor
from gateway.console import i18n, sessions
from gateway.console.accounts import Account
from gateway.console.context import TEMPLATES, Console, console
from gateway.console.roles import Permission, allows
from gateway.services import remote_addr

LANG_COOKIE = "carelay_console_lang"
# Pages hold patients' data: never cached, never framed; only the console's own scripts, styles and forms.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
BASE = "/console"
SIGNIN = f"{BASE}/signin"
SIGNOUT = "console.signout"
IDLE_LEFT_HEADER = "Carelay-Idle-Left-Ms"  # how long the session lasts without another request


@dataclass(frozen=True)
class Viewer:
    session: sessions.Session
    account: Account
    words: i18n.Words
    csrf: str

    @property
    def actor(self) -> Actor:
        return actor_of(self.account)

    def can(self, permission: Permission) -> bool:
        return allows(self.account.role, permission)

    @property
    def reads_phi(self) -> bool:
        return self.can(Permission.PHI_READ)

    @property
    def manages_users(self) -> bool:
        return self.can(Permission.USERS)


def actor_of(account: Account) -> Actor:
    return Actor(f"console:{account.username}", account.role.value, account.organization_id)


class SignInRequired(Exception):
    def __init__(self, ended: str | None = None) -> None:
        super().__init__(ended)
        self.ended = ended


class Refused(Exception):
    def __init__(self, status: int, title: str, body: str, **values: object) -> None:
        super().__init__(title)
        self.status, self.title, self.body, self.values = status, title, body, values


def language(request: Request) -> str:
    return i18n.choose(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
                       request.headers.get("accept-language"))


def safe_next(raw: str | None) -> str:
    """Only a path of the console itself: never another site (an open redirect)."""
    if raw and raw.startswith(f"{BASE}/") and "//" not in raw and "\\" not in raw:
        return raw
    return f"{BASE}/inbox"


def render(request: Request, template: str, context: Mapping[str, Any], *, status: int = 200,
           words: i18n.Words | None = None, viewer: Viewer | None = None,
           headers: Mapping[str, str] | None = None) -> HTMLResponse:
    words = words or (viewer.words if viewer else i18n.Words(language(request)))
    con = console(request)
    ctx = {"t": words, "lang": words.lang, "languages": i18n.LANGUAGE_NAMES, "viewer": viewer,
           "path": request.url.path, "idle_minutes": con.idle_ms // 60_000,
           "idle_left_ms": idle_left_ms(con, viewer.session) if viewer else 0,
           "idle_warn_ms": sessions.warn_before_ms(con.idle_ms), **context}
    response = TEMPLATES.TemplateResponse(request, template, ctx, status_code=status,
                                          headers={**PAGE_HEADERS, **(headers or {})})
    remember_language(request, response)
    return response


def remember_language(request: Request, response: Response) -> None:
    chosen = request.query_params.get("lang")
    if chosen in i18n.LANGUAGES:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, path=BASE, httponly=True, samesite="strict",
                            secure=console(request).secure_cookies)


def set_session(con: Console, response: Response, s: sessions.Session) -> None:
    response.set_cookie(sessions.COOKIE, con.signer.dumps(s), path=sessions.PATH, httponly=True, samesite="strict",
                        secure=con.secure_cookies)  # no max-age: gone when the browser closes


def idle_left_ms(con: Console, s: sessions.Session) -> int:
    return sessions.time_left_ms(s, con.clock(), con.idle_ms, con.max_ms)


def clear_session(con: Console, response: Response) -> None:
    response.delete_cookie(sessions.COOKIE, path=sessions.PATH, httponly=True, samesite="strict",
                           secure=con.secure_cookies)


def load_viewer(request: Request, *, touch: bool = True) -> Viewer:
    """The signed-in person, or SignInRequired (an ended session's end is audited once, here)."""
    con = console(request)
    now = con.clock()
    s = con.signer.loads(request.cookies.get(sessions.COOKIE))
    if s is None:
        raise SignInRequired()
    account = con.accounts.get(s.organization_id, s.username)
    if account is None or account.disabled:
        raise SignInRequired()
    ended = sessions.ended_by_time(s, now, con.idle_ms, con.max_ms)
    if ended is not None:
        con.svc.auditor.fire(actor_of(account), SIGNOUT, ALLOWED, resource=BASE, reason=ended,
                             remote_addr=remote_addr(request), details={"session": s.session_id})
        raise SignInRequired(ended)
    if con.signins.ended(s.session_id, now):
        raise SignInRequired()
    words = i18n.Words(language(request))
    return Viewer(s.touched(now) if touch else s, account, words, con.signer.csrf(sessions.session_binding(s)))


def refuse_role(viewer: Viewer) -> Refused:
    return Refused(403, "forbidden_title", "forbidden_body", role=viewer.words(f"role_{viewer.account.role.value}"))


def refuse_csrf() -> Refused:
    return Refused(403, "csrf_title", "csrf_body")


def to_signin(request: Request, ended: str | None) -> Response:
    came_from = request.url.path
    if request.headers.get("hx-request"):  # a fragment's own path is no page to come back to
        came_from = urlsplit(request.headers.get("hx-current-url", "")).path
    target = SIGNIN + f"?next={quote(safe_next(came_from))}"
    if ended is not None:
        target += f"&ended={ended}"
    if request.headers.get("hx-request"):
        response: Response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    clear_session(console(request), response)
    return response


def refused_page(request: Request, exc: Refused, viewer: Viewer | None) -> Response:
    return render(request, "refused.html", {"title_key": exc.title, "body_key": exc.body, "values": exc.values},
                  status=exc.status, viewer=viewer)


Endpoint = Callable[..., Awaitable[Response]]


def page(permission: Permission | None, *, form: bool = False) -> Callable[[Endpoint], Callable[[Request],
                                                                                           Awaitable[Response]]]:
    def wrap(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(endpoint)
        async def run(request: Request) -> Response:
            viewer: Viewer | None = None
            try:
                viewer = load_viewer(request)
                if permission is not None and not viewer.can(permission):
                    raise refuse_role(viewer)
                if form:
                    data = await request.form()
                    if not console(request).signer.csrf_ok(sessions.session_binding(viewer.session),
                                                           _field(data, "csrf")):
                        raise refuse_csrf()
                    response = await endpoint(request, viewer, data)
                else:
                    response = await endpoint(request, viewer)
            except SignInRequired as exc:
                return to_signin(request, exc.ended)
            except Refused as exc:
                response = refused_page(request, exc, viewer)
            if viewer is not None:
                set_session(console(request), response, viewer.session)
                # the page's idle warning (static/idle.js) counts from here
                response.headers[IDLE_LEFT_HEADER] = str(idle_left_ms(console(request), viewer.session))
            return response

        return run

    return wrap


def _field(data: FormData, name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) else None


def field(data: FormData, name: str, limit: int = 256) -> str:
    """A form field as text, trimmed and bounded (a file or an absent field: empty)."""
    value = _field(data, name)
    return value.strip()[:limit] if value is not None else ""
