"""A message the gateway accepted is never a 404 to its sender: another process's accept, read back from
send.requests (gateway/accepted.py), answers `accepted` until the workers' state arrives."""
from __future__ import annotations

import time

from confluent_kafka import Producer
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.services import Services
from schemas.phi import PhiCipher, Pseudonymizer
from schemas.settings import Settings
from tests.gateway.helpers import OTHER, SENDER, key, send_body, wait_ready
from tests.schemas.examples import examples

EXAMPLES = examples(PhiCipher([("t1", b"\x05" * 32)]), Pseudonymizer(b"\x06" * 32))


def test_a_send_accepted_by_another_process_is_accepted_here_until_its_state_arrives(settings: Settings):
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        wait_ready(first)
        wait_ready(second)
        mids = [first.post("/v1/messages", json=send_body(idempotency_key=key()), headers=SENDER).json()["message_id"]
                for _ in range(5)]
        for mid in mids:  # at once: the GET waits until the view has read what Kafka held when it began
            r = second.get(f"/v1/messages/{mid}", headers=SENDER)
            assert r.status_code == 200, r.text
            doc = r.json()
            assert (doc["status"], doc["is_final"], doc["reason"]) == ("accepted", False, None)
            assert [(h["status"], h["source"]) for h in doc["history"]] == [("accepted", "gateway")]
        assert second.get(f"/v1/messages/{mids[0]}", headers=OTHER).status_code == 404  # not theirs
        assert second.get(f"/v1/messages/m-{key()}", headers=SENDER).status_code == 404  # never accepted

        svc: Services = second.app.state.services  # type: ignore[attr-defined]
        topic = svc.topics.message_state
        state = EXAMPLES["MessageState"] | {"message_id": mids[0], "organization_id": "demo-clinic"}
        producer = Producer({"bootstrap.servers": settings.kafka.bootstrap})
        producer.produce(topic.name, topic.codec.encode(state), mids[0])
        assert producer.flush(10) == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not svc.state.has(mids[0]):
            time.sleep(0.05)
        assert second.get(f"/v1/messages/{mids[0]}", headers=SENDER).json()["status"] == "delivered"


def test_a_send_another_writer_put_on_the_topic_is_accepted(settings: Settings, client: TestClient,
                                                            services: Services):
    """Any producer may write SendRequests (the reminder timer, the AI bridge, a client of the topic)."""
    topic = services.topics.send_requests
    mid = f"m-{key()}"
    rec = EXAMPLES["SendRequest"] | {"message_id": mid, "organization_id": "demo-clinic"}
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap})
    producer.produce(topic.name, topic.codec.encode(rec), rec["recipient_id"].encode())
    assert producer.flush(10) == 0
    r = client.get(f"/v1/messages/{mid}", headers=SENDER)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
