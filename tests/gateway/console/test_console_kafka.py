"""The console against the real broker: two gateway processes (apps) share accounts, lock-outs and what
people did with notices only through Kafka."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from schemas.settings import Settings
from tests.gateway.console.support import (
    PASSWORD,
    console_of,
    csrf,
    notice_id_of,
    notice_record,
    produce_notice,
    sign_in,
    wait_console,
    wait_for,
    write_accounts,
)
from tests.gateway.helpers import read_topic, wait_ready


@pytest.fixture(scope="module")
def gateways(shared_settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    """Two gateway processes' apps on one topic prefix, with the test accounts."""
    write_accounts(shared_settings)
    with TestClient(create_app(shared_settings)) as one, TestClient(create_app(shared_settings)) as two:
        for c in (one, two):
            wait_ready(c)
            wait_console(c.app)
        yield one, two


def fresh(c: TestClient) -> TestClient:
    c.cookies.clear()
    return c


def audit_records(settings: Settings, client: TestClient, where, count: int = 1):
    topic = client.app.state.services.topics.audit  # type: ignore[attr-defined]
    return [r for _, r in read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=count, where=where)]


def test_sign_in_see_a_notice_acknowledge_it_and_it_is_gone_for_everyone(gateways, shared_settings):
    one, two = gateways
    alice = fresh(one)
    r = sign_in(alice, "demo-clinic", "alice")
    assert r.status_code == 303 and r.headers["location"] == "/console/inbox"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    domid = produce_notice(one.app, shared_settings, notice_record("demo-clinic"))
    page = wait_for(lambda: (p := alice.get("/console/inbox")).status_code == 200 and domid in p.text and p,
                    "the notice on alice's inbox")
    assert "The patient asked to cancel the appointment." in page.text  # what happened, in words
    assert "Cancel the appointment in the clinic" in page.text  # and what to do

    bob = TestClient(two.app)  # another browser, on the other gateway process
    assert sign_in(bob, "demo-clinic", "bob").status_code == 303
    wait_for(lambda: domid in bob.get("/console/inbox").text, "the notice on bob's inbox")
    olga = TestClient(one.app)
    assert sign_in(olga, "other-clinic", "olga").status_code == 303
    assert domid not in olga.get("/console/inbox").text  # another clinic sees none of it

    notice_id = notice_id_of(page.text, domid)
    r = alice.post(f"/console/inbox/{notice_id}", data={"action": "acknowledged", "csrf": csrf(page.text)},
                   follow_redirects=False)
    assert r.status_code == 303, r.text
    assert domid not in alice.get("/console/inbox").text
    wait_for(lambda: domid not in bob.get("/console/inbox").text, "the notice gone from bob's inbox too")

    acts = audit_records(shared_settings, one, lambda x: x["action"] == "console.notice.acknowledged"
                         and x["resource"] == notice_id)
    signins = audit_records(shared_settings, one, lambda x: x["action"] == "console.signin"
                            and x["actor"] == "console:alice" and x["outcome"] == "allowed")
    assert acts[0]["actor"] == "console:alice" and acts[0]["organization_id"] == "demo-clinic"
    assert signins[0]["remote_addr"] and PASSWORD not in repr(signins)


def test_assign_to_me_keeps_the_notice_and_says_whose_it_is(gateways, shared_settings):
    one, two = gateways
    alice = fresh(one)
    sign_in(alice, "demo-clinic", "alice")
    domid = produce_notice(one.app, shared_settings, notice_record("demo-clinic", "urgent_failed"))
    page = wait_for(lambda: (p := alice.get("/console/inbox")) and domid in p.text and p, "the notice")
    r = alice.post(f"/console/inbox/{notice_id_of(page.text, domid)}", data={"action": "assigned",
                   "csrf": csrf(page.text)}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Assigned to you" in r.text  # the htmx answer: the same partial, new state
    bob = TestClient(two.app)
    sign_in(bob, "demo-clinic", "bob")
    wait_for(lambda: "Assigned to alice" in bob.get("/console/inbox?reason=urgent_failed").text,
             "the assignment on the other process")


@pytest.mark.parametrize("token", [pytest.param(None, id="missing"), pytest.param("f" * 64, id="wrong")])
def test_a_form_without_its_csrf_token_is_refused_with_a_page(gateways, shared_settings, token):
    one, _ = gateways
    alice = fresh(one)
    sign_in(alice, "demo-clinic", "alice")
    domid = produce_notice(one.app, shared_settings, notice_record("demo-clinic"))
    page = wait_for(lambda: (p := alice.get("/console/inbox")) and domid in p.text and p, "the notice")
    data = {"action": "acknowledged", **({"csrf": token} if token else {})}
    r = alice.post(f"/console/inbox/{notice_id_of(page.text, domid)}", data=data)
    assert r.status_code == 403 and "The form has expired" in r.text and "Nothing was done" in r.text
    assert domid in alice.get("/console/inbox").text  # still open
    signin_page = fresh(TestClient(one.app)).post("/console/signin", data={"organization": "demo-clinic",
                                                                          "username": "alice", "password": PASSWORD})
    assert signin_page.status_code == 403 and "The form has expired" in signin_page.text


def test_six_bad_passwords_lock_the_account_on_every_process(gateways, shared_settings):
    one, two = gateways
    c = fresh(TestClient(one.app))
    statuses = [sign_in(c, "demo-clinic", "bob", "wrong password!").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 403]
    r = sign_in(c, "demo-clinic", "bob")  # the sixth, with the right password: still locked
    assert r.status_code == 403 and "locked" in r.text
    other = TestClient(two.app)
    wait_for(lambda: sign_in(other, "demo-clinic", "bob").status_code == 403, "the lock on the other process")
    locks = audit_records(shared_settings, one, lambda x: x["action"] == "console.lockout"
                          and x["actor"] == "console:bob")
    assert locks[0]["details"]["failures_in_a_row"] == "5" and locks[0]["remote_addr"]
    from gateway.console.users import AccountWriter

    with AccountWriter(shared_settings) as writer:
        writer.unlock("demo-clinic", "bob")
    wait_for(lambda: sign_in(TestClient(one.app), "demo-clinic", "bob").status_code == 303, "the unlock")


def test_idle_for_fifteen_minutes_signs_out(gateways, shared_settings):
    one, _ = gateways
    con = console_of(one.app)
    alice = TestClient(one.app)
    assert sign_in(alice, "demo-clinic", "alice").status_code == 303
    real = con.clock
    start = real()
    try:
        con.clock = lambda: start + 14 * 60_000
        assert alice.get("/console/inbox").status_code == 200  # active: the idle clock restarts here
        con.clock = lambda: start + 28 * 60_000
        assert alice.get("/console/inbox").status_code == 200
        con.clock = lambda: start + 43 * 60_000 + 1
        r = alice.get("/console/inbox", follow_redirects=False)
        assert r.status_code == 303 and "ended=idle" in r.headers["location"]
        assert "You were signed out after 15 minutes" in alice.get(r.headers["location"]).text
    finally:
        con.clock = real
    ended = audit_records(shared_settings, one, lambda x: x["action"] == "console.signout"
                          and x["actor"] == "console:alice" and x["reason"] == "idle")
    assert ended


def test_sign_out_ends_the_session_even_for_a_copied_cookie(gateways):
    one, two = gateways
    alice = TestClient(one.app)
    sign_in(alice, "demo-clinic", "alice")
    copied = TestClient(two.app, cookies=dict(alice.cookies))
    page = alice.get("/console/inbox")
    assert copied.get("/console/inbox").status_code == 200
    r = alice.post("/console/signout", data={"csrf": csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and "signed_out=1" in r.headers["location"]
    assert alice.get("/console/inbox", follow_redirects=False).status_code == 303
    wait_for(lambda: copied.get("/console/inbox", follow_redirects=False).status_code == 303,
             "the sign-out on the other process")


def test_an_analyst_sees_no_inbox_and_nobody_signed_out_sees_anything(gateways):
    one, _ = gateways
    assert fresh(TestClient(one.app)).get("/console/inbox", follow_redirects=False).headers["location"].startswith(
        "/console/signin")
    carol = TestClient(one.app)
    sign_in(carol, "demo-clinic", "carol")
    r = carol.get("/console/inbox")
    assert r.status_code == 403 and "You cannot see this page" in r.text


@pytest.mark.parametrize(("header", "words"), [
    pytest.param("es-MX,es;q=0.9", "Iniciar sesión", id="es"),
    pytest.param("pt-BR", "Entrar", id="pt"),
    pytest.param("en-GB", "Sign in", id="en"),
])
def test_the_sign_in_page_speaks_the_browsers_language(gateways, header, words):
    one, _ = gateways
    r = TestClient(one.app).get("/console/signin", headers={"Accept-Language": header})
    assert r.status_code == 200 and f">{words}</h1>" in r.text
    assert 'href="#main-content"' in r.text and '<label class="govuk-label" for="password">' in r.text
    assert r.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in r.headers["content-security-policy"]
