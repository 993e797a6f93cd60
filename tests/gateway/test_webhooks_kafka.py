"""Provider webhooks on the real broker: signed ones become sealed envelopes, forged ones never do."""
from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from connectors.meta.signature import sign
from schemas.phi import PhiCipher, Pseudonymizer, binding_of
from tests.gateway.helpers import read_topic

PATIENT = "+525512345678"


def _twilio_post(client, settings, path: str, form: dict[str, str], query: dict[str, str] | None = None,
                 forge: bool = False):
    qs = urlencode(query or {})
    url = f"{settings.gateway.public_url}{path}" + (f"?{qs}" if qs else "")
    signature = RequestValidator(str(settings.twilio.auth_token)).compute_signature(url, form)
    if forge:
        signature = RequestValidator("not-the-token").compute_signature(url, form)
    return client.post(path + (f"?{qs}" if qs else ""), data=form, headers={"X-Twilio-Signature": signature})


def _envelopes(services, settings, where, count=1, timeout_s=10.0):
    topic = services.topics.webhooks
    return read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=count, timeout_s=timeout_s,
                      where=where)


def test_twilio_status_callback_becomes_one_sealed_envelope(client, services, settings):
    sid = f"SM{uuid.uuid4().hex}"
    form = {"MessageSid": sid, "MessageStatus": "delivered", "To": f"whatsapp:{PATIENT}",
            "From": f"whatsapp:{settings.twilio.whatsapp_from}", "AccountSid": settings.twilio.account_sid}
    query = {"org": "demo-clinic", "message_id": "m-1", "attempt_id": "a-1"}
    r = _twilio_post(client, settings, "/webhooks/twilio/status", form, query)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/xml") and b"<Response/>" in r.content
    [(record_key, env)] = _envelopes(services, settings, lambda e: e["kind"] == "status")
    pseudonym = Pseudonymizer(settings.pseudonym_key_bytes)("demo-clinic", PATIENT)
    assert env["provider"] == "twilio" and env["recipient_id"] == pseudonym and record_key == pseudonym.encode()
    assert env["query"] == query
    body = PhiCipher(settings.phi_keys).open("body", env["body"], binding_of("WebhookEnvelope", env))
    assert json.loads(body)["MessageSid"] == sid


def test_twilio_inbound_answers_empty_twiml_and_finds_the_org_by_number(client, services, settings):
    form = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": PATIENT, "To": settings.twilio.sms_from,
            "Body": "SI", "NumMedia": "0"}
    r = _twilio_post(client, settings, "/webhooks/twilio/inbound", form)
    assert r.status_code == 200 and r.text.endswith("<Response/>")
    [(_, env)] = _envelopes(services, settings, lambda e: e["kind"] == "inbound")
    assert env["recipient_id"] == Pseudonymizer(settings.pseudonym_key_bytes)("demo-clinic", PATIENT)
    assert env["query"] == {}


def test_twilio_voice_gather_and_call_status(client, services, settings):
    base = {"CallSid": f"CA{uuid.uuid4().hex}", "To": PATIENT, "From": settings.twilio.voice_from,
            "Direction": "outbound-api"}
    assert _twilio_post(client, settings, "/webhooks/twilio/voice", {**base, "Digits": "1"},
                        {"org": "demo-clinic", "message_id": "m-2"}).status_code == 200
    assert _twilio_post(client, settings, "/webhooks/twilio/voice", {**base, "CallStatus": "completed"}).status_code \
        == 200
    assert _twilio_post(client, settings, "/webhooks/twilio/voice/gather", {**base, "Digits": "2"}).status_code == 200
    found = _envelopes(services, settings, lambda e: e["kind"] in ("gather", "call_status"), count=3)
    assert sorted(e["kind"] for _, e in found) == ["call_status", "gather", "gather"]


def test_forged_or_unsigned_twilio_webhooks_are_refused_counted_and_not_published(client, services, settings):
    form = {"MessageSid": "SMforged", "MessageStatus": "delivered", "To": PATIENT}
    assert _twilio_post(client, settings, "/webhooks/twilio/status", form, forge=True).status_code == 403
    assert client.post("/webhooks/twilio/status", data=form).status_code == 403
    # a valid signature for another URL (query tampered) is a forgery too
    url = f"{settings.gateway.public_url}/webhooks/twilio/status?org=demo-clinic"
    sig = RequestValidator(str(settings.twilio.auth_token)).compute_signature(url, form)
    r = client.post("/webhooks/twilio/status?org=other-clinic", data=form, headers={"X-Twilio-Signature": sig})
    assert r.status_code == 403 and r.json()["error"]["code"] == "bad_signature"
    metrics = client.get("/metrics").text
    assert 'carelay_gateway_webhook_signature_failures_total{provider="twilio"} 3.0' in metrics
    assert _envelopes(services, settings, lambda e: True, timeout_s=2) == []


def _meta_body(sid: str) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "waba", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "100000000000001"},
            "statuses": [{"id": sid, "status": "read", "recipient_id": PATIENT[1:], "timestamp": "1700000000",
                          "biz_opaque_callback_data": "org=demo-clinic&message_id=m-3&attempt_id=a-3"},
                         {"id": sid, "status": "delivered", "recipient_id": PATIENT[1:], "timestamp": "1699999999"}],
            "messages": [{"id": "wamid.in", "from": PATIENT[1:], "type": "text", "text": {"body": "CONFIRMAR"}}],
        }}]}]}).encode()


def test_meta_handshake(client, settings):
    ok = client.get("/webhooks/meta", params={"hub.mode": "subscribe", "hub.challenge": "12345",
                                              "hub.verify_token": str(settings.meta.verify_token)})
    assert ok.status_code == 200 and ok.text == "12345"
    bad = client.get("/webhooks/meta", params={"hub.mode": "subscribe", "hub.challenge": "1",
                                               "hub.verify_token": "guess"})
    assert bad.status_code == 403
    assert client.get("/webhooks/meta").status_code == 403


def test_meta_webhook_splits_into_one_envelope_per_item(client, services, settings):
    raw = _meta_body("wamid.out")
    secret = str(settings.meta.app_secret).encode()
    r = client.post("/webhooks/meta", content=raw, headers={"X-Hub-Signature-256": sign(secret, raw),
                                                            "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    found = _envelopes(services, settings, lambda e: e["provider"] == "meta", count=3)
    assert sorted(e["kind"] for _, e in found) == ["inbound", "status", "status"]
    pseudonym = Pseudonymizer(settings.pseudonym_key_bytes)("demo-clinic", PATIENT)
    assert all(e["recipient_id"] == pseudonym for _, e in found)
    with_refs = [e for _, e in found if e["query"].get("message_id") == "m-3"]
    assert len(with_refs) == 1 and with_refs[0]["query"]["phone_number_id"] == "100000000000001"
    assert len({e["envelope_id"] for _, e in found}) == 3
    cipher = PhiCipher(settings.phi_keys)
    bodies = [json.loads(cipher.open("body", e["body"], binding_of("WebhookEnvelope", e))) for _, e in found]
    assert {b.get("status") or b.get("type") for b in bodies} == {"read", "delivered", "text"}


def test_forged_meta_webhooks_are_refused(client, services, settings):
    raw = _meta_body("wamid.forged")
    forged = sign(b"wrong-secret", raw)
    assert client.post("/webhooks/meta", content=raw, headers={"X-Hub-Signature-256": forged}).status_code == 403
    assert client.post("/webhooks/meta", content=raw).status_code == 403
    assert client.post("/webhooks/meta", content=raw + b" ",
                       headers={"X-Hub-Signature-256": sign(str(settings.meta.app_secret).encode(), raw)}
                       ).status_code == 403
    assert 'carelay_gateway_webhook_signature_failures_total{provider="meta"} 3.0' in client.get("/metrics").text
    assert _envelopes(services, settings, lambda e: True, timeout_s=2) == []


def test_signed_but_malformed_meta_json_is_a_400(client, settings):
    raw = b"{not json"
    r = client.post("/webhooks/meta", content=raw,
                    headers={"X-Hub-Signature-256": sign(str(settings.meta.app_secret).encode(), raw)})
    assert r.status_code == 400


def test_accepted_and_refused_callbacks_are_audited_as_tallies(client, services, settings):
    """Accepted provider callbacks: one allowed record per provider, route and window with the counts
    (each callback is already a durable envelope); refused ones get a denied record per window too."""
    query = {"org": "demo-clinic", "message_id": "m-t", "attempt_id": "a-t"}
    for status in ("sent", "delivered", "read"):
        form = {"MessageSid": f"SM{uuid.uuid4().hex}", "MessageStatus": status, "To": f"whatsapp:{PATIENT}",
                "From": f"whatsapp:{settings.twilio.whatsapp_from}"}
        assert _twilio_post(client, settings, "/webhooks/twilio/status", form, query).status_code == 200
    raw = _meta_body("wamid.tally")
    secret = str(settings.meta.app_secret).encode()
    assert client.post("/webhooks/meta", content=raw, headers={"X-Hub-Signature-256": sign(secret, raw),
                                                               "Content-Type": "application/json"}).status_code == 200
    assert _twilio_post(client, settings, "/webhooks/twilio/status", {"MessageSid": "SMf"}, forge=True).status_code \
        == 403

    topic = services.topics.audit
    found = [r for _, r in read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=4, timeout_s=6,
                                      where=lambda r: r["action"].startswith("webhook."))]
    allowed = {r["action"]: r for r in found if r["outcome"] == "allowed"}
    assert len(found) == 3 and set(allowed) == {"webhook.twilio.status", "webhook.meta"}
    twilio = allowed["webhook.twilio.status"]
    assert twilio["details"] == {"requests": "3", "items": "3"}
    assert (twilio["actor"], twilio["role"], twilio["organization_id"]) == ("twilio", "provider", "demo-clinic")
    assert twilio["resource"] == "/webhooks/twilio/status"
    assert allowed["webhook.meta"]["details"] == {"requests": "1", "items": "3"}
    [denied] = [r for r in found if r["outcome"] == "denied"]
    assert (denied["action"], denied["reason"]) == ("webhook.twilio.status", "bad_signature")
    assert denied["details"] == {"requests": "1"} and denied["remote_addr"] == "testclient"
