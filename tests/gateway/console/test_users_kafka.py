"""The admin's accounts page on the real broker: the organization's accounts only, adding one who can
then sign in, disabling one (their open session ends at once), staff refused."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from schemas.settings import Settings
from tests.gateway.console.support import csrf, sign_in, wait_console, write_accounts
from tests.gateway.helpers import read_topic, wait_ready

NEW_PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def gateway(shared_settings: Settings) -> Iterator[TestClient]:
    write_accounts(shared_settings)
    with TestClient(create_app(shared_settings)) as c:
        wait_ready(c)
        wait_console(c.app)
        yield c


def test_an_admin_adds_an_account_who_signs_in_and_disables_it(gateway, shared_settings):
    dana = TestClient(gateway.app)
    assert sign_in(dana, "demo-clinic", "dana").status_code == 303
    page = dana.get("/console/users")
    assert page.status_code == 200
    assert 'id="user-alice"' in page.text and 'id="user-olga"' not in page.text  # its own organization only
    assert 'id="user-alice-state">Active<' in page.text and 'id="user-dana-disable"' not in page.text  # not oneself

    r = dana.post("/console/users", data={"username": "erin", "role": "staff", "password": "short",
                                          "csrf": csrf(page.text)})
    assert r.status_code == 400 and 'href="#new-password"' in r.text
    r = dana.post("/console/users", data={"username": "erin", "role": "staff", "password": NEW_PASSWORD,
                                          "csrf": csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    erin = TestClient(gateway.app)
    assert sign_in(erin, "demo-clinic", "erin", NEW_PASSWORD).status_code == 303
    assert erin.get("/console/inbox").status_code == 200

    page = dana.get("/console/users")
    r = dana.post("/console/users/erin", data={"action": "disable", "csrf": csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert erin.get("/console/inbox", follow_redirects=False).status_code == 303  # signed out at once
    assert sign_in(TestClient(gateway.app), "demo-clinic", "erin", NEW_PASSWORD).status_code == 401
    assert 'id="user-erin-state">Disabled<' in dana.get("/console/users").text

    audit = gateway.app.state.services.topics.audit  # type: ignore[attr-defined]
    records = [x for _, x in read_topic(shared_settings.kafka.bootstrap, audit.name, audit.codec, count=2,
                                        where=lambda x: x["action"].startswith("console.users.")
                                        and x["resource"] == "erin")]
    assert {x["action"] for x in records} == {"console.users.add", "console.users.disable"}
    assert NEW_PASSWORD not in repr(records)


def test_staff_cannot_manage_accounts(gateway):
    alice = TestClient(gateway.app)
    sign_in(alice, "demo-clinic", "alice")
    assert alice.get("/console/users").status_code == 403
    page = alice.get("/console/inbox")
    r = alice.post("/console/users", data={"username": "mallory", "role": "admin", "password": NEW_PASSWORD,
                                           "csrf": csrf(page.text)})
    assert r.status_code == 403
