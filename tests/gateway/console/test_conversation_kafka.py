"""The conversation page on the real broker: a patient's message and the clinic's replies in order, the
words and number opened for staff (each view audited), a staff reply published as the API publishes a
send (`source: staff`, dedup by the form's key, audited), refusals in words, consent and the WhatsApp
window deciding the reply form, a paused conversation resumed with the API's command record."""
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
from gateway.console.context import dom_id
from gateway.console.patient_page import PHI_READ
from schemas.phi import Binding, PhiCipher
from schemas.settings import Settings
from tests.gateway.console.support import (
    csrf,
    notice_record,
    produce_notice,
    sign_in,
    wait_console,
    wait_for,
    write_accounts,
)
from tests.gateway.helpers import read_topic, wait_ready

ORG = "demo-clinic"
WORDS = "¿Puedo llevar a mi hija a la consulta del jueves?"
REPLY = "Sí, claro. La esperamos el jueves."
KEY = re.compile(r'name="key" value="([^"]+)"')


@pytest.fixture(scope="module")
def gateway(shared_settings: Settings) -> Iterator[TestClient]:
    write_accounts(shared_settings)
    with TestClient(create_app(shared_settings)) as c:
        wait_ready(c)
        wait_console(c.app)
        yield c


def _produce(settings: Settings, topic: Any, key: str, record: dict[str, Any]) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap})
    producer.produce(topic.name, topic.codec.encode(record), key.encode("utf-8"))
    assert producer.flush(10) == 0


def inbound(gateway: TestClient, settings: Settings, number: str, words: str, *, channel: str = "WHATSAPP",
            at_ms: int | None = None) -> tuple[str, str]:
    """A patient's message as the interpreter publishes it: (pseudonym, event id)."""
    svc = gateway.app.state.services  # type: ignore[attr-defined]
    rid = svc.pseudonymize(ORG, number)
    event_id = f"twilio:SM{uuid.uuid4().hex}"
    cipher, bound = PhiCipher(settings.phi_keys), Binding(ORG, event_id)
    record = {"event_id": event_id, "provider": "twilio", "channel": channel, "provider_message_id": event_id[7:],
              "organization_id": ORG, "recipient_id": rid, "sender": cipher.seal("sender", number, bound),
              "to_address": "+15550001111", "kind": "TEXT", "text": cipher.seal("text", words, bound),
              "payload": None, "context_provider_message_id": None,
              "received_at": at_ms if at_ms is not None else int(time.time() * 1000)}
    _produce(settings, svc.topics.inbound, rid, record)
    con = gateway.app.state.console  # type: ignore[attr-defined]
    wait_for(lambda: con.conversation.inbound.of(ORG, rid), "the patient's message in the view")
    return rid, event_id


def signed_in(gateway: TestClient, user: str) -> TestClient:
    client = TestClient(gateway.app)
    sign_in(client, ORG if user != "olga" else "other-clinic", user)
    return client


def test_staff_read_the_thread_reply_in_the_window_and_every_view_and_reply_is_audited(gateway, shared_settings):
    number = "+525511110001"
    rid, event_id = inbound(gateway, shared_settings, number, WORDS)
    alice = signed_in(gateway, "alice")
    page = alice.get(f"/console/patients/{rid}/conversation")
    assert page.status_code == 200 and WORDS in page.text and number in page.text
    assert f"entry-{dom_id(event_id)}-words" in page.text and 'id="reply-text"' in page.text  # the window is open
    assert "Open until" in page.text and page.headers["cache-control"] == "no-store"

    form = {"csrf": csrf(page.text), "key": KEY.search(page.text).group(1), "kind": "free_text",  # type: ignore[union-attr]
            "language": "es", "text": REPLY, "action": "send"}
    sent = alice.post(f"/console/patients/{rid}/conversation/reply", data=form, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    message_id = sent.headers["location"].split("sent=")[1].split("#")[0]
    again = alice.post(f"/console/patients/{rid}/conversation/reply", data=form, follow_redirects=False)
    assert again.headers["location"] == sent.headers["location"]  # the same form twice: one message

    after = alice.get(sent.headers["location"])
    assert REPLY in after.text and f"status-{dom_id(message_id)}" in after.text and 'id="reply-sent"' in after.text
    assert after.text.index(WORDS) < after.text.index(REPLY)  # in order: the patient first, then the reply
    poll = alice.get(f"/console/patients/{rid}/conversation/statuses")
    assert poll.status_code == 200 and f'id="status-{dom_id(message_id)}" hx-swap-oob="true"' in poll.text
    assert REPLY not in poll.text and "set-cookie" not in poll.headers  # no words, and no idle-clock restart

    svc = gateway.app.state.services  # type: ignore[attr-defined]
    now = int(time.time() * 1000)
    _produce(shared_settings, svc.topics.message_state, message_id, {
        "message_id": message_id, "organization_id": ORG, "recipient_id": rid, "status": "delivered",
        "channel": "SMS", "created_at": now, "updated_at": now, "is_final": True,
        "history": [{"status": s, "at": now, "channel": c, "provider": "twilio", "attempt_id": f"{message_id}:{h}",
                     "source": "provider"} for h, (s, c) in enumerate((("failed", "WHATSAPP"), ("delivered", "SMS")))]})
    wait_for(lambda: svc.state.get(message_id), "the reply's state in the view")
    done = alice.get(f"/console/patients/{rid}/conversation/statuses")
    assert done.status_code == 286  # every status final: htmx stops polling
    assert "Delivered by SMS, after WhatsApp did not work" in done.text
    requests = read_topic(shared_settings.kafka.bootstrap, svc.topics.send_requests.name,
                          svc.topics.send_requests.codec, count=1, where=lambda r: r["message_id"] == message_id)
    record = requests[0][1]
    assert requests[0][0] == rid.encode() and record["source"] == "staff" and record["recipient_id"] == rid
    assert record["channels"] == ["WHATSAPP", "SMS"] and record["metadata"] == {"console_user": "alice"}
    cipher = PhiCipher(shared_settings.phi_keys)
    assert cipher.open("text", record["content"]["text"], Binding(ORG, message_id)) == REPLY
    audit = svc.topics.audit
    trail = read_topic(shared_settings.kafka.bootstrap, audit.name, audit.codec, count=3,
                       where=lambda x: x["actor"] == "console:alice" and (
                           x["action"] == "console.reply" or (x["action"] == PHI_READ and x["resource"] == rid)))
    actions = [r["action"] for _, r in trail]
    assert "console.reply" in actions and actions.count(PHI_READ) >= 2
    reply_audit = next(r for _, r in trail if r["action"] == "console.reply")
    assert reply_audit["resource"] == message_id and reply_audit["details"]["recipient_id"] == rid
    assert number not in repr(trail) and REPLY not in repr(trail) and WORDS not in repr(trail)


def test_an_analyst_never_sees_the_conversation_and_another_clinic_sees_nothing(gateway, shared_settings):
    rid, _ = inbound(gateway, shared_settings, "+525511110002", WORDS)
    carol = signed_in(gateway, "carol")
    r = carol.get(f"/console/patients/{rid}/conversation")
    assert r.status_code == 403 and WORDS not in r.text
    assert carol.get(f"/console/patients/{rid}/conversation/statuses").status_code == 403
    olga = signed_in(gateway, "olga")
    r = olga.get(f"/console/patients/{rid}/conversation")
    assert r.status_code == 404 and WORDS not in r.text
    sent = olga.post(f"/console/patients/{rid}/conversation/reply",
                     data={"csrf": csrf(olga.get("/console/inbox").text), "kind": "free_text", "text": "x",
                           "key": "k-olga", "action": "send"}, follow_redirects=False)
    assert sent.status_code == 404 and WORDS not in sent.text  # nothing of the patient, nothing sent


def test_closed_window_offers_a_template_with_its_preview_and_refuses_free_text_in_words(gateway, shared_settings):
    two_days_ago = int(time.time() * 1000) - 48 * 3600 * 1000
    rid, _ = inbound(gateway, shared_settings, "+525511110003", WORDS, at_ms=two_days_ago)
    alice = signed_in(gateway, "alice")
    page = alice.get(f"/console/patients/{rid}/conversation?template=appointment_confirmed")
    assert page.status_code == 200 and "Closed since" in page.text and 'id="reply-text"' not in page.text
    assert 'id="reply-template"' in page.text and 'id="param-date"' in page.text
    assert "[date]" in page.text  # the preview shows what is still to be filled in
    token, key = csrf(page.text), KEY.search(page.text).group(1)  # type: ignore[union-attr]
    refused = alice.post(f"/console/patients/{rid}/conversation/reply", follow_redirects=False,
                         data={"csrf": token, "key": key, "kind": "free_text", "text": REPLY, "action": "send"})
    assert refused.status_code == 409 and "The WhatsApp window is closed" in refused.text
    assert 'id="error-summary"' in refused.text
    preview = alice.post(f"/console/patients/{rid}/conversation/reply", follow_redirects=False, data={
        "csrf": token, "key": key, "kind": "template", "template": "appointment_confirmed", "language": "en",
        "param_date": "May 1", "param_time": "10:30", "action": "preview"})
    assert preview.status_code == 200 and "your appointment on May 1 at 10:30 is confirmed" in preview.text
    sent = alice.post(f"/console/patients/{rid}/conversation/reply", follow_redirects=False, data={
        "csrf": token, "key": key, "kind": "template", "template": "appointment_confirmed", "language": "en",
        "param_date": "May 1", "param_time": "", "action": "send"})
    assert sent.status_code == 400 and "Fill in every field" in sent.text
    sent = alice.post(f"/console/patients/{rid}/conversation/reply", follow_redirects=False, data={
        "csrf": token, "key": key, "kind": "template", "template": "appointment_confirmed", "language": "en",
        "param_date": "May 1", "param_time": "10:30", "action": "send"})
    assert sent.status_code == 303
    assert "your appointment on May 1 at 10:30 is confirmed" in alice.get(sent.headers["location"]).text


def test_consent_per_channel_and_an_opt_out_of_every_channel_refuses_the_reply(gateway, shared_settings):
    rid, _ = inbound(gateway, shared_settings, "+525511110004", WORDS)
    svc = gateway.app.state.services  # type: ignore[attr-defined]
    now = int(time.time() * 1000)
    for channel in ("WHATSAPP", "SMS"):
        _produce(shared_settings, svc.topics.consent, f"{ORG}|{rid}|{channel}", {
            "event_id": uuid.uuid4().hex, "organization_id": ORG, "recipient_id": rid, "channel": channel,
            "state": "OPTED_OUT", "source": "keyword", "reason": "stop", "occurred_at": now})
    con = gateway.app.state.console  # type: ignore[attr-defined]
    wait_for(lambda: len(con.conversation.consent.of(ORG, rid)) == 2, "the opt-outs in the view")
    alice = signed_in(gateway, "alice")
    page = alice.get(f"/console/patients/{rid}/conversation")
    assert page.text.count("Opted out on") == 2 and 'id="reply-none"' in page.text
    refused = alice.post(f"/console/patients/{rid}/conversation/reply", follow_redirects=False, data={
        "csrf": csrf(page.text), "key": "k1", "kind": "free_text", "text": REPLY, "action": "send"})
    assert refused.status_code == 409 and "opted out of every channel" in refused.text


def test_a_paused_conversation_shows_resume_which_writes_the_apis_command_and_is_audited(gateway, shared_settings):
    rid, _ = inbound(gateway, shared_settings, "+525511110005", WORDS)
    until = int(time.time() * 1000) + 3600_000
    notice = {**notice_record(ORG, "loop_paused"), "recipient_id": rid, "details": {"paused_until": str(until)}}
    produce_notice(gateway.app, shared_settings, notice)
    svc = gateway.app.state.services  # type: ignore[attr-defined]
    wait_for(lambda: any(n.recipient_id == rid for n in svc.staff.held(ORG)), "the pause notice")
    alice = signed_in(gateway, "alice")
    page = alice.get(f"/console/patients/{rid}/conversation")
    assert "Automatic replies are paused" in page.text and 'id="resume-button"' in page.text
    forged = alice.post(f"/console/patients/{rid}/conversation/resume", data={}, follow_redirects=False)
    assert forged.status_code == 403
    r = alice.post(f"/console/patients/{rid}/conversation/resume", data={"csrf": csrf(page.text)},
                   follow_redirects=False)
    assert r.status_code == 303
    after = alice.get(r.headers["location"])
    assert 'id="resume-button"' not in after.text and "Resume requested" in after.text
    topic = svc.topics.conversations
    commands = read_topic(shared_settings.kafka.bootstrap, topic.name, topic.codec, count=1,
                          where=lambda x: x["recipient_id"] == rid)
    assert commands[0][0] == rid.encode() and commands[0][1]["type"] == "conversation.resume"
    assert commands[0][1]["organization_id"] == ORG
    audit = read_topic(shared_settings.kafka.bootstrap, svc.topics.audit.name, svc.topics.audit.codec, count=1,
                       where=lambda x: x["action"] == "conversation.resume" and x["resource"] == rid)
    assert audit[0][1]["actor"] == "console:alice"


def test_an_open_page_learns_of_newer_messages_without_their_words_and_find_leads_to_the_thread(
        gateway, shared_settings):
    number = "+525511110077"
    rid, _ = inbound(gateway, shared_settings, number, WORDS, at_ms=int(time.time() * 1000) - 60_000)
    alice = signed_in(gateway, "alice")
    page = alice.get(f"/console/patients/{rid}/conversation")
    seen = re.search(r'/news\?seen=(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    quiet = alice.get(f"/console/patients/{rid}/conversation/news?seen={seen}")
    assert quiet.status_code == 200 and quiet.text.strip() == ""
    inbound(gateway, shared_settings, number, "Otra pregunta más")
    con = gateway.app.state.console  # type: ignore[attr-defined]
    wait_for(lambda: len(con.conversation.inbound.of(ORG, rid)) == 2, "the second message in the view")
    news = alice.get(f"/console/patients/{rid}/conversation/news?seen={seen}")
    assert news.status_code == 200 and "New messages from the patient: 1." in news.text
    assert "Otra pregunta" not in news.text and number not in news.text and "set-cookie" not in news.headers
    assert alice.get(f"/console/patients/{rid}/conversation/news?seen=soon").status_code == 400
    carol = signed_in(gateway, "carol")  # an analyst
    assert carol.get(f"/console/patients/{rid}/conversation/news?seen={seen}").status_code == 403

    find = alice.get("/console/patients")
    r = alice.post("/console/patients/find", data={"phone": number, "csrf": csrf(find.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/console/patients/{rid}/conversation"
