"""A change reaching many open inboxes: the inbox it is shown against is built once per change and
filter, and each browser still gets its own rendering (language, its own form token)."""
from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from gateway.console import i18n, inbox_page
from gateway.console.roles import ConsoleRole
from gateway.staff import Notice

NOW = int(time.time() * 1000)


def notice(i: int, org: str = "clinic") -> Notice:
    return Notice(NOW + i, f"ev-{i}:staff.attention_needed", org, "staff.attention_needed", "unclear_reply",
                  f"rid-{i}", None, f"m-{i}", "WHATSAPP", "es", False, ())


class Staff:
    def __init__(self) -> None:
        self.reads = 0
        self.notices = [notice(i) for i in range(5)]

    def held(self, org: str) -> list[Notice]:
        self.reads += 1
        return [n for n in self.notices if n.organization_id == org]


class Actions:
    def handled(self, org: str) -> dict[str, Any]:
        return {}

    def get(self, org: str, notice_id: str) -> None:
        return None


def console() -> Any:
    care = SimpleNamespace(for_org=lambda org: ("America/Mexico_City", (21, 8)))
    return SimpleNamespace(svc=SimpleNamespace(staff=Staff(), settings=SimpleNamespace(care=care)),
                           actions=Actions())


def viewer(org: str, user: str, lang: str) -> Any:
    account = SimpleNamespace(organization_id=org, username=user, role=ConsoleRole.STAFF)
    return SimpleNamespace(account=account, words=i18n.Words(lang), csrf=f"token-of-{user}", can=lambda p: True)


def test_one_build_per_change_for_every_open_inbox_each_rendered_for_its_browser():
    con = console()
    first = notice(10)
    con.svc.staff.notices.append(first)
    browsers = [viewer("clinic", f"user{i}", "es" if i % 2 else "en") for i in range(20)]
    html = [inbox_page.change_fragment(con, v, None, first) for v in browsers]
    assert con.svc.staff.reads == 1
    assert all(h and "token-of-user" + str(i) in h for i, h in enumerate(html))
    assert "Respuesta no entendida" in (html[1] or "") and "Reply not understood" in (html[0] or "")

    second = notice(11)
    con.svc.staff.notices.append(second)
    after = inbox_page.change_fragment(con, browsers[0], None, second)
    assert con.svc.staff.reads == 2 and after and "rid-11" in after


def test_another_filter_or_clinic_gets_its_own_inbox():
    con = console()
    change = notice(12)
    inbox_page.change_fragment(con, viewer("clinic", "a", "en"), None, change)
    inbox_page.change_fragment(con, viewer("clinic", "b", "en"), "unclear_reply", change)
    inbox_page.change_fragment(con, viewer("elsewhere", "c", "en"), None, change)
    assert con.svc.staff.reads == 3
