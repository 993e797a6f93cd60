"""Every authenticated request and every refusal leaves an AuditRecord, without PHI."""
from __future__ import annotations

from tests.gateway.helpers import ANALYST, OTHER, PHONE, SENDER, key, read_topic, send_body


def test_audit_trail_of_sends_reads_and_refusals(client, services, settings):
    body = send_body(idempotency_key=key())
    mid = client.post("/v1/messages", json=body, headers=SENDER).json()["message_id"]
    client.get(f"/v1/messages/{mid}", headers=SENDER)
    client.get(f"/v1/messages/{mid}", headers=OTHER)
    client.post("/v1/messages", json=body)  # no key
    client.post("/v1/messages", json={**body, "idempotency_key": key()}, headers=ANALYST)  # wrong role
    client.post("/v1/messages", json={**body, "to": "5512", "idempotency_key": key()}, headers=SENDER)
    client.post("/webhooks/twilio/status", data={"MessageSid": "SMx", "To": PHONE})  # unsigned
    batch = client.post("/v1/messages:batch", json={"items": [send_body(idempotency_key=key()), {"to": "1"}]},
                        headers=SENDER).json()

    topic = services.topics.audit
    records = [rec for _, rec in read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=8)]
    seen = {(r["actor"], r["action"], r["outcome"], r["reason"]) for r in records}
    assert ("demo-sender", "message.send", "allowed", None) in seen
    assert ("demo-sender", "message.read", "allowed", None) in seen
    assert ("other-sender", "message.read", "rejected", "not_found") in seen
    assert ("anonymous", "message.send", "denied", "unauthenticated") in seen
    assert ("demo-analyst", "message.send", "denied", "forbidden") in seen
    assert ("demo-sender", "message.send", "rejected", "invalid_phone_number") in seen
    assert ("twilio", "webhook.twilio.status", "denied", "bad_signature") in seen
    [batch_audit] = [r for r in records if r["action"] == "message.send_batch"]
    assert batch_audit["details"]["message_ids"] == batch["results"][0]["message_id"]
    assert batch_audit["details"]["rejected"] == "invalid_field:1" and batch_audit["outcome"] == "allowed"
    send = next(r for r in records if r["outcome"] == "allowed" and r["action"] == "message.send")
    assert send["resource"] == mid and send["organization_id"] == "demo-clinic" and send["role"] == "sender"

    raw = read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=len(records))
    text = repr(raw)
    for phi in (PHONE, PHONE[1:], "Ana Maria", "MRN-0042", "demo-clinic-sender-key"):
        assert phi not in text
