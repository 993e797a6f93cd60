"""Kafka unreachable: never a 2xx for what Kafka did not take; 503 + Retry-After within the send timeout."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from connectors.meta.signature import sign
from gateway.app import create_app
from schemas.settings import Settings
from stack.javaproc import free_port
from tests.gateway.helpers import SENDER, key, send_body

TIMEOUT_S = 1.0


@pytest.fixture
def down(settings: Settings) -> Iterator[tuple[TestClient, Settings]]:
    """A gateway whose broker address has nothing listening (the registry is up)."""
    kafka = dataclasses.replace(settings.kafka, bootstrap=f"127.0.0.1:{free_port()}", send_timeout_s=TIMEOUT_S)
    broken = dataclasses.replace(settings, kafka=kafka)
    with TestClient(create_app(broken)) as c:
        yield c, broken


def _timed(call):
    start = time.monotonic()
    response = call()
    return response, time.monotonic() - start


def test_sends_get_503_with_retry_after_within_the_timeout(down):
    c, _ = down
    r, took = _timed(lambda: c.post("/v1/messages", json=send_body(idempotency_key=key()), headers=SENDER))
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
    assert int(r.headers["retry-after"]) >= 1
    assert took < TIMEOUT_S + 0.5
    r, took = _timed(lambda: c.post("/v1/messages:batch", json={"items": [send_body(idempotency_key=key())]},
                                    headers=SENDER))
    assert r.status_code == 503 and "retry-after" in r.headers and took < TIMEOUT_S + 0.5


def test_a_failed_send_is_not_remembered_as_accepted(down):
    c, _ = down
    k = key()
    assert c.post("/v1/messages", json=send_body(idempotency_key=k), headers=SENDER).status_code == 503
    # the retry publishes again (503 again here), instead of replaying an id Kafka never took
    r = c.post("/v1/messages", json=send_body(idempotency_key=k), headers=SENDER)
    assert r.status_code == 503 and "idempotent-replayed" not in r.headers


def test_webhooks_get_503_too(down):
    c, s = down
    form = {"MessageSid": "SM1", "MessageStatus": "sent", "To": "+525512345678"}
    url = f"{s.gateway.public_url}/webhooks/twilio/status"
    sig = RequestValidator(str(s.twilio.auth_token)).compute_signature(url, form)
    r, took = _timed(lambda: c.post("/webhooks/twilio/status", data=form, headers={"X-Twilio-Signature": sig}))
    assert r.status_code == 503 and "retry-after" in r.headers and took < TIMEOUT_S + 0.5
    raw = b'{"object":"whatsapp_business_account","entry":[]}'
    r = c.post("/webhooks/meta", content=raw, headers={"X-Hub-Signature-256": sign(str(s.meta.app_secret).encode(),
                                                                                   raw)})
    assert r.status_code == 503


def test_not_ready_but_alive(down):
    c, _ = down
    ready = c.get("/readyz")
    assert ready.status_code == 503 and ready.json()["kafka"] is False
    assert c.get("/healthz").status_code == 200


def test_an_unknown_message_is_not_a_404_while_the_views_cannot_be_read(down):
    """Kafka down: the gateway cannot tell whether another process accepted it, so it says try again."""
    c, _ = down
    r = c.get("/v1/messages/6f1c3c1e-5b0e-4c55-9b7e-8c2a9d1f0a11", headers=SENDER)
    assert r.status_code == 503 and "retry-after" in r.headers


def test_ready_with_a_broker(client):
    doc = client.get("/readyz").json()
    assert doc == {"status": "ready", "kafka": True, "topics": True, "message_state_loaded": True,
                   "accepted_sends_loaded": True, "staff_notifications_loaded": True, "appointment_plans_loaded": True,
                   "appointments_loaded": True, "templates_loaded": True}
