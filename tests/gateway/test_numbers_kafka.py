"""One patient, one pseudonym on the real broker: a send to +52..., and WhatsApp's 521... replies."""
from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from connectors.meta import parse as meta
from connectors.meta.parse import split_webhook
from connectors.meta.signature import sign
from connectors.twilio import parse as twilio
from schemas.phi import PhiCipher, Pseudonymizer, binding_of
from tests.gateway.fhir_samples import appointment
from tests.gateway.helpers import SENDER, key, read_topic, send_body

CURRENT = "+525512345678"  # how a Mexican mobile is dialled since 2019, and where sends go
WA_ID = "5215512345678"    # how WhatsApp reports the same mobile


def _meta_inbound(wamid: str) -> bytes:
    """Meta's documented `messages` webhook shape for a text a user sends."""
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "100000000000001"},
            "contacts": [{"profile": {"name": "Guadalupe"}, "wa_id": WA_ID}],
            "messages": [{"from": WA_ID, "id": wamid, "timestamp": "1749416383", "type": "text",
                          "text": {"body": "SI"}}],
        },
        "field": "messages"}]}]}).encode()


def _twilio_inbound(client, settings, form: dict[str, str]):
    url = f"{settings.gateway.public_url}/webhooks/twilio/inbound"
    signature = RequestValidator(str(settings.twilio.auth_token)).compute_signature(url, form)
    return client.post("/webhooks/twilio/inbound", content=urlencode(form),
                       headers={"X-Twilio-Signature": signature,
                                "Content-Type": "application/x-www-form-urlencoded"})


def test_a_whatsapp_reply_from_521_reaches_the_patient_a_send_to_52_created(client, services, settings):
    r = client.post("/v1/messages", json=send_body(to=CURRENT), headers={**SENDER, "Idempotency-Key": key()})
    assert r.status_code == 202, r.text
    topic = services.topics.send_requests
    [(_, send)] = read_topic(settings.kafka.bootstrap, topic.name, topic.codec, count=1,
                             where=lambda rec: rec["message_id"] == r.json()["message_id"])
    patient = send["recipient_id"]

    wamid = f"wamid.{uuid.uuid4().hex}"
    raw = _meta_inbound(wamid)
    reply = client.post("/webhooks/meta", content=raw, headers={
        "X-Hub-Signature-256": sign(str(settings.meta.app_secret).encode(), raw), "Content-Type": "application/json"})
    assert reply.status_code == 200, reply.text
    sid = f"SM{uuid.uuid4().hex}"
    form = {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": settings.twilio.account_sid,
            "From": f"whatsapp:+{WA_ID}", "To": f"whatsapp:{settings.twilio.whatsapp_from}", "Body": "SI",
            "NumMedia": "0", "WaId": WA_ID, "ProfileName": "Guadalupe"}
    assert _twilio_inbound(client, settings, form).status_code == 200

    webhooks = services.topics.webhooks
    found = read_topic(settings.kafka.bootstrap, webhooks.name, webhooks.codec, count=2,
                       where=lambda e: e["kind"] == "inbound")
    assert len(found) == 2
    assert all(record_key == patient.encode() and env["recipient_id"] == patient for record_key, env in found)

    # what the streams' interpreter makes of the same envelopes: the same patient, the sender as sent to
    cipher, pseudonymize = PhiCipher(settings.phi_keys), Pseudonymizer(settings.pseudonym_key_bytes)
    for _, env in found:
        body = json.loads(cipher.open("body", env["body"], binding_of("WebhookEnvelope", env)))
        if env["provider"] == "meta":
            [(_, item, metadata)] = list(split_webhook(json.loads(raw)))
            assert item == body
            rec = meta.parse_message(body, metadata, cipher, pseudonymize, "demo-clinic")
        else:
            rec = twilio.parse_inbound(body, cipher, pseudonymize, "demo-clinic")
        assert rec is not None and rec["recipient_id"] == patient
        assert cipher.open("sender", rec["sender"], binding_of("InboundMessage", rec)) == CURRENT


def test_a_trailing_newline_is_refused_at_every_door_and_nothing_is_published(client, services, settings):
    r = client.post("/v1/messages", json=send_body(to=CURRENT + "\n"), headers={**SENDER, "Idempotency-Key": key()})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_phone_number"
    assert r.json()["error"]["field"] == "to" and "5512345678" not in r.text

    batch = client.post("/v1/messages:batch", json={"items": [send_body(idempotency_key=key()),
                                                               send_body(idempotency_key=key(), to=CURRENT + "\n")]},
                        headers=SENDER)
    assert batch.status_code == 200, batch.text
    refused = batch.json()["results"][1]
    assert refused["http_status"] == 422 and refused["error"]["field"] == "items[1].to"
    assert "5512345678" not in batch.text

    doc = appointment(id="apt-nl")
    doc["contained"][0]["telecom"][1]["value"] = CURRENT + "\n"
    fhir = client.put("/fhir/Appointment/apt-nl", content=json.dumps(doc),
                      headers={**SENDER, "Content-Type": "application/fhir+json"})
    assert fhir.status_code == 422, fhir.text
    issue = fhir.json()["issue"][0]
    assert issue["expression"] == ["Appointment.contained(Patient).telecom[1].value"]
    assert "5512345678" not in fhir.text

    appointments = services.topics.appointments
    assert read_topic(settings.kafka.bootstrap, appointments.name, appointments.codec, count=1, timeout_s=2,
                      where=lambda rec: rec["appointment_id"] == "apt-nl") == []
