"""The admin's accounts page: the organization's console accounts with their state in words, adding an
account, disabling one, ending a lock-out. Each change is a record on `staff.accounts` or
`staff.signins` (the same records `carelay users` writes), audited; the password is hashed here
(argon2id) and never leaves the request in clear."""
from __future__ import annotations

import uuid

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.audit import ALLOWED
from gateway.console.accounts import Account, valid_name
from gateway.console.context import Console, console
from gateway.console.lockout import UNLOCKED, SignInEvent
from gateway.console.passwords import MAX_LENGTH, MIN_LENGTH, hash_password
from gateway.console.roles import ConsoleRole, Permission
from gateway.console.web import Refused, Viewer, field, page, render
from gateway.services import remote_addr

PATH = "/console/users"


def _rows(con: Console, organization_id: str) -> list[tuple[Account, str]]:
    now = con.clock()
    rows = []
    for a in con.accounts.of_organization(organization_id):
        if a.disabled:
            state = "disabled"
        elif con.signins.attempts(a.organization_id, a.username, con.policy, now).locked(con.policy, now):
            state = "locked"
        else:
            state = "active"
        rows.append((a, state))
    return rows


def _page(request: Request, viewer: Viewer, *, status: int = 200, errors: list[str] | None = None,
          values: dict[str, str] | None = None) -> Response:
    con = console(request)
    return render(request, "users.html", {"rows": _rows(con, viewer.account.organization_id),
                                         "roles": [r.value for r in ConsoleRole], "errors": errors or [],
                                         "values": values or {}, "done": request.query_params.get("done") == "1"},
                  status=status, viewer=viewer)


@page(Permission.USERS)
async def users_page(request: Request, viewer: Viewer) -> Response:
    return _page(request, viewer)


async def _put(con: Console, request: Request, viewer: Viewer, account: Account, action: str) -> None:
    svc, topic = con.svc, con.svc.topics.staff_accounts
    record = account.record(con.clock(), viewer.account.username)
    await svc.publisher.wait([
        svc.publisher.submit(topic.name, account.key, topic.codec.encode(record)),
        svc.auditor.submit(viewer.actor, f"console.users.{action}", ALLOWED, resource=account.username,
                           remote_addr=remote_addr(request), details={"role": account.role.value}),
    ], label="console account")
    con.accounts.apply(account.key.encode("utf-8"), record)  # this process shows it at once


@page(Permission.USERS, form=True)
async def add(request: Request, viewer: Viewer, data: FormData) -> Response:
    con = console(request)
    username, role, password = field(data, "username", 100), field(data, "role", 20), field(data, "password", 1024)
    errors = []
    if not valid_name(username):
        errors.append("username")
    if role not in {r.value for r in ConsoleRole}:
        errors.append("role")
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        errors.append("password")
    if errors:
        return _page(request, viewer, status=400, errors=errors, values={"username": username, "role": role})
    hashed = await run_in_threadpool(hash_password, password)
    account = Account(viewer.account.organization_id, username, ConsoleRole(role), hashed)
    await _put(con, request, viewer, account, "add")
    return RedirectResponse(f"{PATH}?done=1", status_code=303)


@page(Permission.USERS, form=True)
async def change(request: Request, viewer: Viewer, data: FormData) -> Response:
    con = console(request)
    org = viewer.account.organization_id
    account = con.accounts.get(org, request.path_params["username"])
    action = field(data, "action")
    if account is None or action not in ("disable", "unlock") or account.username == viewer.account.username:
        raise Refused(404 if account is None else 400, "not_found_title", "not_found_body")
    if action == "disable":
        await _put(con, request, viewer, Account(org, account.username, account.role, account.password_hash,
                                                 disabled=True), "disable")
    else:
        event = SignInEvent(str(uuid.uuid4()), org, account.username, UNLOCKED, con.clock(),
                            remote_addr=remote_addr(request))
        topic, svc = con.svc.topics.staff_signins, con.svc
        await svc.publisher.wait([
            svc.publisher.submit(topic.name, event.key, topic.codec.encode(event.record())),
            svc.auditor.submit(viewer.actor, "console.users.unlock", ALLOWED, resource=account.username,
                               remote_addr=remote_addr(request)),
        ], label="console unlock")
        con.signins.record(event)
    return RedirectResponse(f"{PATH}?done=1", status_code=303)
