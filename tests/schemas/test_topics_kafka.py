"""The contracts on the real broker and registry: topics created from the catalog, every schema through Kafka."""
from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from schemas import contracts
from schemas.phi import PhiCipher, Pseudonymizer
from schemas.registry import ConfluentRegistry
from schemas.topics import TOPICS, Catalog, ensure_topics
from tests.schemas.examples import CLEAR_PHI, examples

pytestmark = pytest.mark.kafka

CIPHER = PhiCipher([("t1", b"\x05" * 32)])
PSEUDO = Pseudonymizer(b"\x06" * 32)


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture
def reg(registry):
    client = ConfluentRegistry(registry.url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def admin(kafka) -> AdminClient:
    return AdminClient({"bootstrap.servers": kafka.bootstrap})


def test_ensure_topics_creates_the_catalog_once(admin, prefix):
    created = ensure_topics(admin, prefix, partitions=3, replication=1)
    assert sorted(created) == sorted(t.name(prefix) for t in TOPICS.all())
    assert ensure_topics(admin, prefix, partitions=3, replication=1) == []
    meta = admin.list_topics(timeout=10).topics
    assert len(meta[TOPICS.send_requests.name(prefix)].partitions) == 3


def test_compacted_and_retention_configs_applied(admin, prefix):
    ensure_topics(admin, prefix, partitions=3, replication=1)
    for topic in (TOPICS.consent, TOPICS.message_state, TOPICS.send_requests, TOPICS.audit):
        res = ConfigResource(ConfigResource.Type.TOPIC, topic.name(prefix))
        configs = admin.describe_configs([res])[res].result(timeout=10)
        assert configs["cleanup.policy"].value == ("compact" if topic.compacted else "delete")
        assert configs["retention.ms"].value == str(topic.retention_ms)


def _drain(bootstrap: str, topic: str, partitions: int) -> list:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4()}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out, idle = [], 0
    while idle < 5:
        msg = consumer.poll(0.5)
        if msg is None:
            idle += 1 if out else 0.25
            continue
        assert msg.error() is None, msg.error()
        out.append(msg)
    consumer.close()
    return out


def test_every_contract_travels_through_the_broker_without_clear_phi(kafka, reg, admin, prefix):
    ensure_topics(admin, prefix, partitions=3, replication=1)
    catalog = Catalog(prefix, reg)
    samples = examples(CIPHER, PSEUDO)
    producer = Producer({"bootstrap.servers": kafka.bootstrap, "acks": "all", "enable.idempotence": True})
    for topic in TOPICS.all():
        bound = catalog.by_name(topic.name(prefix))
        record = samples[topic.value_type]
        producer.produce(bound.name, key=record.get("recipient_id", "k").encode(), value=bound.codec.encode(record))
    assert producer.flush(15) == 0

    for topic in TOPICS.all():
        bound = catalog.by_name(topic.name(prefix))
        messages = _drain(kafka.bootstrap, bound.name, 3)
        assert len(messages) == 1, bound.name
        raw = messages[0].value()
        assert bound.codec.decode(raw) == samples[topic.value_type]
        # the bytes on the wire: no clear-text phone number, name, body or patient reference
        wire = raw + (messages[0].key() or b"")
        for phi in CLEAR_PHI:
            assert phi.encode() not in wire, (bound.name, "clear PHI on the wire")


@pytest.mark.parametrize("name", contracts.EVENT_TYPES)
def test_current_schema_is_backward_compatible_with_released(reg, name):
    subject = f"compat-{uuid.uuid4().hex[:8]}-{name}-value"
    for path in contracts.released_versions(name):
        reg.register(subject, json.dumps(json.loads(path.read_text())))
    assert reg.is_compatible(subject, contracts.schema_text(name))


def test_registry_rejects_a_breaking_change(reg):
    subject = f"compat-{uuid.uuid4().hex[:8]}-break-value"
    reg.register(subject, contracts.schema_text("CircuitEvent"))
    broken = json.loads(contracts.schema_text("CircuitEvent"))
    broken["fields"].append({"name": "severity", "type": "string"})  # new required field, no default
    assert not reg.is_compatible(subject, json.dumps(broken))
    additive = json.loads(contracts.schema_text("CircuitEvent"))
    additive["fields"].append({"name": "severity", "type": "string", "default": "info"})
    assert reg.is_compatible(subject, json.dumps(additive))
