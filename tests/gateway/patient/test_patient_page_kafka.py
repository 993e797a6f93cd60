"""The patient page on the real broker: a link made through the API opens the patient's appointments on
one phone, a button and a reply enter inbound.messages as the in-app channel's button and text, each
view is audited without PHI, and a forged, expired, revoked or other-device link gets one same answer."""
from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Producer
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.patient import links
from gateway.patient.links import Guesses
from schemas.phi import PhiCipher, binding_of
from schemas.settings import Settings
from tests.gateway.console.support import wait_for
from tests.gateway.helpers import SENDER, read_topic, wait_ready

NUMBER = "+525512345678"
WORDS = "Tengo fiebre, ¿voy igual?"
HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def gateway(shared_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(shared_settings)) as c:
        wait_ready(c)
        app: Any = c.app
        wait_for(lambda: app.state.console.loaded and app.state.patient_page.loaded, "the views")
        yield c


def make_link(gateway: TestClient, language: str = "pt") -> dict[str, Any]:
    r = gateway.post("/v1/patient-links", headers=SENDER, json={"to": NUMBER, "language": language})
    assert r.status_code == 201, r.text
    return dict(r.json())


def produce_plan(settings: Settings, topic: Any, rid: str, appt: str, message_id: str) -> None:
    now = int(time.time() * 1000)
    record = {"organization_id": "demo-clinic", "appointment_id": appt, "recipient_id": rid, "kind": "BOOKED",
              "start_at": now + 26 * HOUR_MS, "timezone": "America/Mexico_City", "urgent": False,
              "reminders": [{"name": "24h", "offset_s": 86400, "due_at": now - HOUR_MS, "state": "sent",
                             "reason": None, "message_id": message_id}],
              "impossible": None, "updated_at": now}
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap})
    producer.produce(topic.name, topic.codec.encode(record), f"demo-clinic|{appt}")
    assert producer.flush(10) == 0


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


def test_a_patient_opens_the_link_confirms_and_writes_and_it_enters_as_inapp(gateway, shared_settings):
    svc = gateway.app.state.services  # type: ignore[attr-defined]
    made = make_link(gateway)
    path = made["url"].removeprefix(svc.settings.gateway.public_url)
    assert path.startswith("/p/") and NUMBER.lstrip("+") not in made["url"]
    appt, question = f"appt-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    produce_plan(shared_settings, svc.topics.appointment_plans, made["recipient_id"], appt, question)
    con = gateway.app.state.console  # type: ignore[attr-defined]
    wait_for(lambda: any(p.appointment_id == appt for p in con.plans.plans("demo-clinic")), "the plan")

    phone = TestClient(gateway.app)
    page = phone.get(path)
    assert page.status_code == 200 and "Suas consultas e mensagens" in page.text  # the patient's language
    assert 'lang="pt"' in page.text and page.headers["cache-control"] == "no-store"
    assert phone.cookies.get("carelay_patient_device") and question in page.text
    assert phone.get(path + "?lang=en").text.count("Your appointments and messages") >= 1

    r = phone.post(path + "/answer", data={"csrf": csrf(page.text), "action": "confirm", "message_id": question},
                   follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=confirm#done")
    r = phone.post(path + "/reply", data={"csrf": csrf(page.text), "text": WORDS}, follow_redirects=False)
    assert r.status_code == 303
    blank = phone.post(path + "/reply", data={"csrf": csrf(page.text), "text": "  "})
    assert blank.status_code == 400 and 'href="#reply-text"' in blank.text
    forged_form = phone.post(path + "/answer", data={"csrf": "0" * 64, "action": "cancel", "message_id": question})
    assert forged_form.status_code == 403

    topic = svc.topics.inbound
    got = read_topic(shared_settings.kafka.bootstrap, topic.name, topic.codec, count=2,
                     where=lambda x: x["recipient_id"] == made["recipient_id"])
    button, text = sorted((rec for _, rec in got), key=lambda x: x["kind"] != "BUTTON")
    cipher = PhiCipher(shared_settings.phi_keys)
    provider = svc.directory.for_channel("demo-clinic", "INAPP")[0].provider
    assert (button["channel"], button["provider"], button["payload"]) == ("INAPP", provider, f"confirm:{question}")
    assert cipher.open("sender", button["sender"], binding_of("InboundMessage", button)) == NUMBER
    assert text["payload"] is None and cipher.open("text", text["text"], binding_of("InboundMessage", text)) == WORDS
    assert len(got) == 2  # the refused forms entered nothing

    audit = svc.topics.audit
    trail = read_topic(shared_settings.kafka.bootstrap, audit.name, audit.codec, count=4,
                       where=lambda x: x["resource"] == made["link_id"])
    actions = {rec["action"] for _, rec in trail}
    assert {"patient.link.create", "patient.page.read", "patient.page.answer", "patient.page.reply"} <= actions
    assert NUMBER.lstrip("+") not in repr(trail) and WORDS not in repr(trail)


def test_forged_expired_revoked_and_other_device_links_get_one_answer_and_guessing_is_limited(gateway):
    pp = gateway.app.state.patient_page  # type: ignore[attr-defined]
    pp.guesses = Guesses(6)
    svc = gateway.app.state.services  # type: ignore[attr-defined]
    base = svc.settings.gateway.public_url
    owner, stranger = TestClient(gateway.app), TestClient(gateway.app)
    first = make_link(gateway)["url"].removeprefix(base)
    assert owner.get(first).status_code == 200  # binds the owner's phone
    expiring = make_link(gateway)["url"].removeprefix(base)
    revoked = make_link(gateway)
    assert gateway.post(f"/v1/patient-links/{revoked['link_id']}:revoke", headers=SENDER).status_code == 200

    forged = "/p/" + links.token_for(b"not-our-key-0000", links.new_link_id())
    answers = [stranger.get(forged), stranger.get(first), stranger.get(revoked["url"].removeprefix(base))]
    pp.clock.offset_ms = pp.ttl_ms + 1  # a week later
    try:
        answers.append(stranger.get(expiring))
        assert owner.get(first).status_code == 404  # expired for its own phone too
    finally:
        pp.clock.offset_ms = 0
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1 and "This link does not work" not in answers[0].text  # es default
    assert owner.get(first).status_code == 200  # the owner still gets in; the stranger's misses were theirs

    pp.guesses = Guesses(3)  # (the misses a week later counted in a window of their own)
    assert [stranger.get(forged).status_code for _ in range(4)] == [404, 404, 404, 429]
    assert owner.get(first).status_code == 429  # the tests share one address: any link waits
    pp.guesses = Guesses(svc.settings.patient_page.guesses_per_minute)


def test_a_link_needs_a_sender_key_and_a_real_number(gateway):
    assert gateway.post("/v1/patient-links", json={"to": NUMBER}).status_code == 401
    r = gateway.post("/v1/patient-links", headers=SENDER, json={"to": "5512"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "to"
    r = gateway.post("/v1/patient-links", headers=SENDER, json={"to": NUMBER, "language": "fr"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "language"
    assert gateway.post("/v1/patient-links/nope:revoke", headers=SENDER).status_code == 404


