"""The idle log-off's server side on the real broker: every page says how long the session lasts,
the session check says it without restarting the clock (and names the sign-in page once it ended),
and "Stay signed in" restarts it like a page, with its CSRF token."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.console.web import IDLE_LEFT_HEADER
from schemas.settings import Settings
from tests.gateway.console.support import console_of, csrf, sign_in, wait_console, write_accounts
from tests.gateway.helpers import wait_ready


@pytest.fixture(scope="module")
def gateway(shared_settings: Settings) -> Iterator[TestClient]:
    write_accounts(shared_settings)
    with TestClient(create_app(shared_settings)) as c:
        wait_ready(c)
        wait_console(c.app)
        yield c


def test_the_page_knows_when_the_session_ends_and_can_stay(gateway):
    con = console_of(gateway.app)
    original, now = con.clock, [con.clock()]
    con.clock = lambda: now[0]
    try:
        alice = TestClient(gateway.app)
        assert sign_in(alice, "demo-clinic", "alice").status_code == 303
        page = alice.get("/console/inbox")
        assert page.headers[IDLE_LEFT_HEADER] == str(con.idle_ms)
        assert f'data-idle-left-ms="{con.idle_ms}"' in page.text and 'id="idle-warning"' in page.text

        now[0] += con.idle_ms - 1000
        check = alice.get("/console/session", headers={"HX-Request": "true"})
        assert check.status_code == 204 and check.headers[IDLE_LEFT_HEADER] == "1000"
        assert alice.post("/console/session", data={}).status_code == 403  # no CSRF token: nothing done
        stay = alice.post("/console/session", data={"csrf": csrf(page.text)})
        assert stay.status_code == 204 and stay.headers[IDLE_LEFT_HEADER] == str(con.idle_ms)

        now[0] += con.idle_ms - 1000  # idle again, but counted from "Stay signed in"
        assert alice.get("/console/session", headers={"HX-Request": "true"}).headers[IDLE_LEFT_HEADER] == "1000"
        now[0] += 1000
        ended = alice.get("/console/session", headers={"HX-Request": "true",
                                                       "HX-Current-URL": "http://testserver/console/inbox"})
        assert ended.status_code == 204
        assert ended.headers["HX-Redirect"] == "/console/signin?next=/console/inbox&ended=idle"
    finally:
        con.clock = original
