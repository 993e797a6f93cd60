"""The send API on the real broker: sealed SendRequests read back, idempotency, batches, state reads."""
from __future__ import annotations

import dataclasses
import json
import time

from confluent_kafka import Producer
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.idempotency import message_id_for
from gateway.services import Services
from schemas.phi import PhiCipher, Pseudonymizer, binding_of
from schemas.settings import Settings
from tests.gateway.helpers import ANALYST, AUDITOR, OTHER, PARAMS, PHONE, SENDER, key, read_topic, send_body, wait_ready


def test_send_is_published_sealed_keyed_by_pseudonym_and_answered_after_the_ack(client, services, settings):
    k = key()
    r = client.post("/v1/messages", json=send_body(), headers={**SENDER, "Idempotency-Key": k})
    assert r.status_code == 202, r.text
    message_id = r.json()["message_id"]
    assert message_id == message_id_for("demo-clinic", k)

    topic = services.topics.send_requests
    [(record_key, rec)] = read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=1,
                                     where=lambda rec: rec["message_id"] == message_id)
    pseudonym = Pseudonymizer(settings.pseudonym_key_bytes)("demo-clinic", PHONE)
    assert record_key == pseudonym.encode() and rec["recipient_id"] == pseudonym
    cipher = PhiCipher(settings.phi_keys)
    assert cipher.open("recipient", rec["recipient"], binding_of("SendRequest", rec)) == PHONE
    assert cipher.open("patient_ref", rec["patient_ref"], binding_of("SendRequest", rec)) == "MRN-0042"
    assert cipher.open("recipient_name", rec["recipient_name"], binding_of("SendRequest", rec)) == "Ana Maria Lopez"
    assert json.loads(cipher.open("params", rec["content"]["params"], binding_of("SendRequest", rec))) == PARAMS
    assert rec["content"]["template"] == "appointment_reminder" and rec["content"]["text"] is None
    assert (rec["organization_id"], rec["idempotency_key"], rec["source"]) == ("demo-clinic", k, "gateway")
    assert rec["channels"] == ["WHATSAPP", "SMS", "VOICE"] and rec["priority"] == "NORMAL"
    assert rec["metadata"] == {"campaign": "reminders"} and rec["appointment_id"] == "apt-1"


def test_free_text_is_sealed(client, services, settings):
    r = client.post("/v1/messages", json={"to": PHONE, "text": "Su resultado esta listo", "idempotency_key": key(),
                                          "priority": "urgent", "channels": ["SMS"]}, headers=SENDER)
    assert r.status_code == 202, r.text
    topic = services.topics.send_requests
    [(_, rec)] = read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=1,
                            where=lambda rec: rec["message_id"] == r.json()["message_id"])
    assert PhiCipher(settings.phi_keys).open("text", rec["content"]["text"],
                                             binding_of("SendRequest", rec)) == "Su resultado esta listo"
    assert rec["priority"] == "URGENT" and rec["channels"] == ["SMS"]


def test_repeated_key_returns_the_original_id_and_publishes_once(client, services, settings):
    k = key()
    first = client.post("/v1/messages", json=send_body(), headers={**SENDER, "Idempotency-Key": k})
    again = client.post("/v1/messages", json=send_body(), headers={**SENDER, "Idempotency-Key": k})
    assert first.status_code == again.status_code == 202
    assert first.json()["message_id"] == again.json()["message_id"]
    assert again.headers["idempotent-replayed"] == "true"
    conflict = client.post("/v1/messages", json=send_body(to="+5215500000001"),
                           headers={**SENDER, "Idempotency-Key": k})
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "idempotency_conflict"
    assert "+52155" not in conflict.text
    # the same key in another organization is another message
    other = client.post("/v1/messages", json=send_body(), headers={**OTHER, "Idempotency-Key": k})
    assert other.status_code == 202 and other.json()["message_id"] != first.json()["message_id"]

    topic = services.topics.send_requests
    mid = first.json()["message_id"]
    found = read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=2, timeout_s=3,
                       where=lambda rec: rec["message_id"] == mid)
    assert len(found) == 1


def test_batch_items_succeed_or_fail_alone(client, services, settings):
    k1, k2 = key(), key()
    items = [send_body(idempotency_key=k1), send_body(to="12"), send_body(idempotency_key=k2, to="+5215500000002"),
             send_body(idempotency_key=k1)]
    r = client.post("/v1/messages:batch", json={"items": items}, headers=SENDER)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["accepted"], doc["rejected"]) == (3, 1)
    ok0, bad, ok2, dup = doc["results"]
    assert ok0["message_id"] == message_id_for("demo-clinic", k1) and dup["message_id"] == ok0["message_id"]
    assert bad["status"] == "rejected" and bad["error"]["field"] == "items[1].idempotency_key"
    assert ok2["status"] == "accepted"
    topic = services.topics.send_requests
    wanted = {ok0["message_id"], ok2["message_id"]}
    found = read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=3, timeout_s=4,
                       where=lambda rec: rec["message_id"] in wanted)
    assert sorted(rec["message_id"] for _, rec in found) == sorted(wanted)


def test_batch_header_key_gives_each_item_a_key(client):
    k = key()
    items = [send_body(), send_body(to="+5215500000003")]
    first = client.post("/v1/messages:batch", json={"items": items}, headers={**SENDER, "Idempotency-Key": k})
    retry = client.post("/v1/messages:batch", json={"items": items}, headers={**SENDER, "Idempotency-Key": k})
    assert first.json()["accepted"] == 2
    assert [x["message_id"] for x in first.json()["results"]] == [x["message_id"] for x in retry.json()["results"]]
    assert all(x["replayed"] for x in retry.json()["results"])


def test_batch_limits(settings):
    small = dataclasses.replace(settings, gateway=dataclasses.replace(settings.gateway, max_batch_items=2))
    with TestClient(create_app(small)) as c:
        wait_ready(c)
        r = c.post("/v1/messages:batch", json={"items": [send_body(idempotency_key=key()) for _ in range(3)]},
                   headers=SENDER)
        assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_items"
        for body in ({"items": []}, {"items": "x"}, [], {"items": [], "more": 1}):
            assert c.post("/v1/messages:batch", json=body, headers=SENDER).status_code in (400, 422)


def test_roles_and_organizations(client):
    body = send_body(idempotency_key=key())
    assert client.post("/v1/messages", json=body).status_code == 401
    assert client.post("/v1/messages", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/v1/messages", json=body, headers=ANALYST).status_code == 403
    assert client.post("/v1/messages", json=body, headers=AUDITOR).status_code == 403
    mid = client.post("/v1/messages", json=body, headers=SENDER).json()["message_id"]
    assert client.get(f"/v1/messages/{mid}", headers=ANALYST).status_code == 200
    assert client.get(f"/v1/messages/{mid}", headers=AUDITOR).status_code == 200
    assert client.get(f"/v1/messages/{mid}", headers=OTHER).status_code == 404
    assert client.get("/v1/messages/unknown-id", headers=SENDER).status_code == 404


def _state(mid: str, org: str, status: str, history: list[str]) -> dict:
    now = int(time.time() * 1000)
    return {"message_id": mid, "organization_id": org, "recipient_id": "r" * 32, "status": status,
            "channel": "WHATSAPP", "provider": "meta", "provider_message_id": "wamid.1", "hop": 0,
            "is_final": status == "read", "created_at": now - 5000, "updated_at": now,
            "history": [{"status": s, "at": now - 1000 * (len(history) - i), "channel": "WHATSAPP",
                         "provider": "meta", "attempt_id": "a1", "error_code": None, "source": "pipeline"}
                        for i, s in enumerate(history)]}


def test_get_reads_the_reconciled_state(client, services: Services, settings: Settings):
    topic = services.topics.message_state
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap})
    mine, theirs = f"m-{key()}", f"m-{key()}"
    producer.produce(topic.name, topic.codec.encode(_state(mine, "demo-clinic", "read",
                                                           ["queued", "sent", "delivered", "read"])), mine)
    producer.produce(topic.name, topic.codec.encode(_state(theirs, "other-clinic", "sent", ["sent"])), theirs)
    assert producer.flush(10) == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and services.state.get(theirs) is None:
        time.sleep(0.05)
    r = client.get(f"/v1/messages/{mine}", headers=SENDER)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["status"], doc["is_final"], doc["channel"]) == ("read", True, "WHATSAPP")
    assert [h["status"] for h in doc["history"]] == ["queued", "sent", "delivered", "read"]
    assert doc["history"][0]["at"].endswith("Z") and "recipient_id" not in doc
    assert client.get(f"/v1/messages/{theirs}", headers=SENDER).status_code == 404
    assert client.get(f"/v1/messages/{theirs}", headers=OTHER).status_code == 200

    producer.produce(topic.name, None, mine)  # a tombstone removes it from the view
    producer.flush(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and services.state.get(mine) is not None:
        time.sleep(0.05)
    assert client.get(f"/v1/messages/{mine}", headers=SENDER).status_code == 404


def test_the_view_keeps_the_last_state_per_message_and_skips_a_record_not_in_wire_format(
        client, services: Services, settings: Settings):
    """The view holds records undecoded: the last one per key wins, decoded on GET; a record whose
    header is wrong is skipped on arrival and the state before it stays."""
    topic = services.topics.message_state
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap})
    mid = f"m-{key()}"
    producer.produce(topic.name, topic.codec.encode(_state(mid, "demo-clinic", "sent", ["queued", "sent"])), mid)
    producer.produce(topic.name, topic.codec.encode(_state(mid, "demo-clinic", "delivered",
                                                           ["queued", "sent", "delivered"])), mid)
    producer.produce(topic.name, b"\x07not avro", mid)  # same key, same partition: read after the others
    assert producer.flush(10) == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and services.state.decode_errors == 0:
        time.sleep(0.05)
    assert services.state.decode_errors == 1
    doc = client.get(f"/v1/messages/{mid}", headers=SENDER).json()
    assert doc["status"] == "delivered" and [h["status"] for h in doc["history"]] == ["queued", "sent", "delivered"]


def test_a_send_is_readable_as_accepted_before_the_streams_report(client):
    mid = client.post("/v1/messages", json=send_body(idempotency_key=key()), headers=SENDER).json()["message_id"]
    r = client.get(f"/v1/messages/{mid}", headers=SENDER)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert [(h["status"], h["source"]) for h in r.json()["history"]] == [("accepted", "gateway")]


def _entry(status: str, at: int, **more: object) -> dict:
    return {"status": status, "at": at, "channel": "SMS", "provider": "twilio", "attempt_id": "a1",
            "error_code": None, "source": "provider"} | more


def test_get_shows_why_a_message_ended_or_waits_and_marks_late_statuses(client, services: Services,
                                                                        settings: Settings):
    """Every blocked, failed or expired state carries its reason; a retry shows its call and next try;
    a status reported after delivery is marked late and gives the delivered message no error code.
    Written as the streams write them, and (`old`) as records written before the reasons existed."""
    topic = services.topics.message_state
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap})
    now = int(time.time() * 1000)
    ids = {name: f"m-{name}-{key()}" for name in ("blocked", "old", "retrying", "late")}
    base = _state("", "demo-clinic", "accepted", [])
    records = {
        "blocked": base | {"status": "blocked", "is_final": True, "reason": "blocked_no_consent",
                           "history": [_entry("accepted", now - 10, source="pipeline"),
                                       _entry("blocked", now, source="pipeline", reason="blocked_no_consent")]},
        "old": base | {"status": "failed", "is_final": True,
                       "history": [_entry("failed", now - 9, error_code="63016", reason="fallback_permanent_failure"),
                                   _entry("failed", now, error_code="30008", reason="no_channel_left"),
                                   _entry("failed", now + 1, error_code="30003", late=True)]},
        "retrying": base | {"status": "routed", "reason": "provider_rate_limited", "error_code": "20429",
                            "next_attempt_at": now + 5000,
                            "history": [_entry("routed", now - 10, source="pipeline"),
                                        _entry("retrying", now, source="pipeline", error_code="20429",
                                               reason="provider_rate_limited", attempt=1, next_attempt_at=now + 5000)]},
        "late": base | {"status": "delivered", "is_final": True,
                        "history": [_entry("delivered", now - 10), _entry("queued", now - 5, late=True),
                                    _entry("undelivered", now, error_code="30003", late=True)]},
    }
    for name, rec in records.items():
        producer.produce(topic.name, topic.codec.encode(rec | {"message_id": ids[name]}), ids[name])
    assert producer.flush(10) == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(services.state.has(m) for m in ids.values()):
        time.sleep(0.05)
    docs = {name: client.get(f"/v1/messages/{mid}", headers=SENDER).json() for name, mid in ids.items()}
    why = {name: (d["status"], d["reason"], d["error_code"]) for name, d in docs.items()}
    assert why == {"blocked": ("blocked", "blocked_no_consent", None),
                   "old": ("failed", "no_channel_left", "30008"),
                   "retrying": ("routed", "provider_rate_limited", "20429"),
                   "late": ("delivered", None, None)}
    retry = docs["retrying"]["history"][-1]
    assert (retry["status"], retry["attempt"], retry["reason"]) == ("retrying", 1, "provider_rate_limited")
    assert retry["next_attempt_at"] == docs["retrying"]["next_attempt_at"] and retry["next_attempt_at"].endswith("Z")
    assert [(h["status"], h["late"]) for h in docs["late"]["history"]] == [
        ("delivered", False), ("queued", True), ("undelivered", True)]
    assert docs["blocked"]["history"][-1]["reason"] == "blocked_no_consent"


def test_templates_are_listed(client):
    doc = client.get("/v1/templates", headers=SENDER).json()
    names = {t["name"] for t in doc["templates"]}
    assert "appointment_reminder" in names


def test_an_accepted_send_the_workers_never_report_raises_the_alarm(settings, caplog):
    """No stream worker runs here: the send whose state we write ourselves is seen, the other is
    counted and named once its time came (gateway/unseen.py)."""
    after_s = 2.0  # the seen send's state must reach the view by then, also on a busy CI machine
    quick = dataclasses.replace(settings, gateway=dataclasses.replace(settings.gateway, unseen_after_s=after_s))
    with TestClient(create_app(quick)) as c:
        wait_ready(c)
        services: Services = c.app.state.services  # type: ignore[attr-defined]
        topic = services.topics.message_state
        producer = Producer({"bootstrap.servers": settings.kafka.bootstrap})
        assert producer.list_topics(topic.name, timeout=10).topics[topic.name].error is None  # connected before
        seen, lost = (c.post("/v1/messages", json=send_body(idempotency_key=key()), headers=SENDER).json()["message_id"]
                      for _ in range(2))
        producer.produce(topic.name, topic.codec.encode(_state(seen, "demo-clinic", "sent", ["queued", "sent"])), seen)
        assert producer.flush(10) == 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and services.metrics.unseen_accepts._value.get() < 1:
            time.sleep(0.05)
        time.sleep(after_s * 1.2)  # another sweep or two: nothing is counted twice
        assert services.metrics.unseen_accepts._value.get() == 1
        assert services.state.has(seen) and not services.state.has(lost)
        metrics = c.get("/metrics").text
        assert "carelay_gateway_unseen_accepts_total 1.0" in metrics
    warned = [r.getMessage() for r in caplog.records if "no state from the stream workers" in r.getMessage()]
    assert len(warned) == 1 and lost in warned[0] and seen not in warned[0]
