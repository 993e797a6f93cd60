"""Retiring a PHI key against the real broker: state sealed with v1, the ring rotated to v2, `check` counts
the v1 values, `reseal` re-seals them (idempotent, resumable), and a reader holding only v2 opens everything."""
from __future__ import annotations

import base64
import os
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.phi import Binding, PhiCipher
from schemas.settings import Settings
from schemas.topics import TOPICS, ensure_topics
from stack.keys import (
    ROTATED_BY_HAND,
    Census,
    KeyRotation,
    KeyRotationError,
    holds_sealed,
    latest,
    main,
    state_topics,
)
from streams import statecodec
from streams.care.ai_bridge import Bridge, Waiting
from streams.care.schedule import Kind, Planned
from streams.decide.records import Message, Patient, Reminders, sealed_from_state, sealed_to_state
from tests.schemas.examples import examples

K1, K2 = os.urandom(32), os.urandom(32)
ORG, PHONE, NAME, PARAMS = "clinic-a", "+5215511112222", "Ana Torres", '{"date": "2026-12-09"}'
pytestmark = pytest.mark.kafka


def ring(*keys: tuple[str, bytes]) -> str:
    return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in keys)


def test_catalog_topics_with_sealed_fields_turn_over_with_their_retention() -> None:
    # the re-sealing job rewrites the state changelogs only: a catalog topic carrying sealed values and
    # kept for ever (compacted without delete) would keep a retired key's values for ever
    assert holds_sealed("SendRequest") and holds_sealed("PatientLink") and not holds_sealed("StaffAccount")
    sealed = [t for t in TOPICS.all() if holds_sealed(t.value_type)]
    kept = sorted(t.base for t in sealed if t.retention_ms <= 0 or "delete" not in t.config()["cleanup.policy"])
    assert kept == sorted(ROTATED_BY_HAND), "a compacted topic with sealed values needs a rotation path"


def state_records(cipher: PhiCipher, n: int) -> dict[str, dict[bytes, Any]]:
    """n patients (an appointment's number and name, an AI answer's address) and n messages (params), sealed."""
    patients: dict[bytes, Any] = {}
    messages: dict[bytes, Any] = {}
    for i in range(n):
        rid, aid, event, mid = f"rid{i}", f"appt-{i}", f"twilio:SM{i}", f"m-{i}"
        appointment = Binding(ORG, aid)
        reminders = Reminders(Planned(aid, ORG, rid, Kind.BOOKED, None, "UTC", "es", None, 0),
                              sealed_to_state(cipher.seal("recipient", PHONE, appointment)) or ("", "", ""),
                              sealed_to_state(cipher.seal("recipient_name", NAME, appointment)))
        waiting = Waiting("r", event, "SMS", "es", 0, None,
                          sealed_to_state(cipher.seal("recipient", PHONE, Binding(ORG, event))))
        patients[f'"{rid}"'.encode()] = Patient(ORG, appointments=(reminders,), ai=Bridge((waiting,)))
        messages[f'"{rid}|{mid}"'.encode()] = Message(
            mid, ORG, rid, "NORMAL", ("SMS",), "reminder", "es", False, "confirm", aid, True, 0, None,
            params=sealed_to_state(cipher.seal("params", PARAMS, Binding(ORG, mid))))
    patients[b'"rid-empty"'] = Patient(ORG)  # nothing sealed: never rewritten
    return {"patients": patients, "messages": messages}


def opened_by(cipher: PhiCipher, record: Any) -> list[str]:
    """Open every sealed value as the agents do (their bindings spelled out here, not taken from rekey)."""
    if isinstance(record, Message):
        return [cipher.open("params", sealed_from_state(record.params) or {}, Binding(ORG, record.message_id))]
    out = []
    for r in record.appointments:
        b = Binding(r.planned.organization_id, r.planned.appointment_id)
        out += [cipher.open("recipient", sealed_from_state(r.recipient) or {}, b),
                cipher.open("recipient_name", sealed_from_state(r.name) or {}, b)]
    for w in record.ai.waiting:
        out.append(cipher.open("recipient", sealed_from_state(w.recipient) or {}, Binding(ORG, w.inbound_event_id)))
    return out


def consumer(settings: Settings) -> Consumer:
    return Consumer({"bootstrap.servers": settings.kafka.bootstrap, "group.id": f"reader-{uuid.uuid4().hex[:6]}",
                     "enable.auto.commit": False, "enable.partition.eof": True})


def job(settings: Settings) -> KeyRotation:
    bootstrap = settings.kafka.bootstrap
    return KeyRotation(settings, consumer(settings), Producer({"bootstrap.servers": bootstrap, "acks": "all"}),
                       AdminClient({"bootstrap.servers": bootstrap}))


def counts(found: list[Census]) -> dict[str, dict[str, int]]:
    return {c.topic: dict(c.retired) for c in found}


def test_rotate_check_reseal_and_read_with_the_new_key_alone(settings_env: dict[str, str]) -> None:
    v1_env = {**settings_env, "CARELAY_PHI_KEYS": ring(("v1", K1))}
    v1 = Settings.from_env(v1_env)
    admin = AdminClient({"bootstrap.servers": v1.kafka.bootstrap})
    topics = state_topics(v1)
    names = {record.__name__: topic for topic, record in topics.items()}
    futures = admin.create_topics([NewTopic(t, num_partitions=3, replication_factor=1,
                                            config={"cleanup.policy": "compact"}) for t in topics])
    for future in futures.values():
        future.result(timeout=30)
    ensure_topics(admin, v1.kafka.topic_prefix, 3, 1, topics=[TOPICS.send_requests])

    # state and one event written under v1
    v1_cipher = PhiCipher([("v1", K1)])
    records = state_records(v1_cipher, 4)
    producer = Producer({"bootstrap.servers": v1.kafka.bootstrap, "acks": "all"})
    for table, by_key in records.items():
        topic = names["Patient" if table == "patients" else "Message"]
        for key, record in by_key.items():
            producer.produce(topic, key=key, value=statecodec.dumps(record))
    from schemas.phi import Pseudonymizer
    from schemas.registry import registry_from_url
    from schemas.topics import Catalog

    registry = registry_from_url(v1.kafka.schema_registry_url)
    catalog = Catalog(v1.kafka.topic_prefix, registry)
    send = examples(v1_cipher, Pseudonymizer(b"p" * 16))["SendRequest"]
    producer.produce(catalog.send_requests.name, key=b"rid0", value=catalog.send_requests.codec.encode(send))
    registry.close()
    assert producer.flush(30) == 0

    # rotate: v2 appended, so it seals; v1 still opens
    v2_env = {**settings_env, "CARELAY_PHI_KEYS": ring(("v1", K1), ("v2", K2))}
    rotated = Settings.from_env(v2_env)
    found = counts(job(rotated).check())
    sends = catalog.send_requests.name
    assert found[names["Patient"]] == {"v1": 4 * 3} and found[names["Message"]] == {"v1": 4}
    assert found[sends] == {"v1": 5}  # recipient, patient_ref, recipient_name, params, text: they leave with retention
    assert main(["check"], v2_env) == 1

    # a run cut short re-seals part; the next run finishes; a third writes nothing
    first = job(rotated).reseal(limit=3)
    assert sum(c.resealed for c in first) == 3
    left = counts(job(rotated).check())
    assert 0 < sum(left[names["Patient"]].values()) + sum(left[names["Message"]].values()) < 16
    second = job(rotated).reseal()
    assert sum(c.resealed for c in second) == 8 - 3  # 4 patients + 4 messages, minus the first run's
    assert sum(c.resealed for c in job(rotated).reseal()) == 0
    after = counts(job(rotated).check())
    assert after[names["Patient"]] == {} and after[names["Message"]] == {}
    assert after[sends] == {"v1": 5}  # append-only: untouched

    # a reader holding only v2 opens every value of the state, as the agents open them
    v2_only = PhiCipher([("v2", K2)])
    reader = consumer(rotated)
    for topic, record_type in topics.items():
        state = latest(reader, topic)
        assert len(state) == 5 if record_type is Patient else len(state) == 4
        for key, value in state.items():
            assert value is not None
            record = statecodec.loads(record_type, value)
            opened = opened_by(v2_only, record)
            expected = records["patients" if record_type is Patient else "messages"][key[1]]
            assert opened == opened_by(v1_cipher, expected)
    reader.close()


def test_reseal_refuses_while_a_stream_worker_is_in_the_group(settings_env: dict[str, str]) -> None:
    settings = Settings.from_env({**settings_env, "CARELAY_PHI_KEYS": ring(("v1", K1), ("v2", K2))})
    group = f"{settings.kafka.topic_prefix}streams"
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap})
    ensure_topics(admin, settings.kafka.topic_prefix, 1, 1, topics=[TOPICS.send_requests])
    member = Consumer({"bootstrap.servers": settings.kafka.bootstrap, "group.id": group})
    member.subscribe([TOPICS.send_requests.name(settings.kafka.topic_prefix)])
    try:
        for _ in range(60):
            member.poll(0.5)
            if member.assignment():
                break
        assert member.assignment()
        with pytest.raises(KeyRotationError, match="stop the workers"):
            job(settings).reseal()
    finally:
        member.close()
