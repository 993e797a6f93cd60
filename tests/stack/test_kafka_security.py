"""A broker with only a SASL_SSL listener (SCRAM-SHA-512, certificates made by the stack, ACLs): a client
without credentials, with a wrong password, or with another service's principal cannot read a PHI topic;
the principal granted it can."""
from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from stack.javaproc import free_port
from stack.kafka import LocalKafka
from stack.kafka_security import SERVICES, broker_overrides, client_config, make_certificates, scram_arguments

pytestmark = pytest.mark.kafka
TOPIC = "carelay.send.requests"  # a PHI topic: sealed numbers, names and words


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalKafka, dict[str, str], Path]]:
    data = tmp_path_factory.mktemp("secure-kafka")
    certs = make_certificates(data / "certs")
    passwords = {name: secrets.token_urlsafe(16) for name in ("admin", *SERVICES)}
    port, controller = free_port(), free_port()
    admin_client = client_config(f"127.0.0.1:{port}", certs.ca, "admin", passwords["admin"])
    kafka = LocalKafka(data / "kafka", port=port, controller_port=controller,
                       overrides=broker_overrides(port=port, sasl_port=port, controller_port=controller, certs=certs,
                                                  admin_password=passwords["admin"]),
                       storage_args=scram_arguments(passwords), client=admin_client)
    kafka.start()
    try:
        yield kafka, passwords, certs.ca
    finally:
        kafka.stop()


def read_one(config: dict[str, str]) -> bytes:
    consumer = Consumer({**config, "group.id": f"g-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    try:
        consumer.subscribe([TOPIC])
        for _ in range(40):
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                raise KafkaException(msg.error())
            return msg.value() or b""
        raise TimeoutError("nothing read")
    finally:
        consumer.close()


def test_only_the_granted_principal_reads_a_phi_topic(secure: tuple[LocalKafka, dict[str, str], Path]) -> None:
    kafka, passwords, ca = secure
    admin_cfg = client_config(kafka.bootstrap, ca, "admin", passwords["admin"])
    admin = AdminClient(admin_cfg)
    admin.create_topics([NewTopic(TOPIC, 1, 1)])[TOPIC].result(timeout=30)
    # the streams principal reads the topic and its consumer groups; nobody else has an ACL
    grants = [AclBinding(ResourceType.TOPIC, TOPIC, ResourcePatternType.LITERAL, "User:streams", "*",
                         AclOperation.READ, AclPermissionType.ALLOW),
              AclBinding(ResourceType.GROUP, "g-", ResourcePatternType.PREFIXED, "User:streams", "*",
                         AclOperation.READ, AclPermissionType.ALLOW),
              AclBinding(ResourceType.GROUP, "g-", ResourcePatternType.PREFIXED, "User:analytics", "*",
                         AclOperation.READ, AclPermissionType.ALLOW)]
    for future in admin.create_acls(grants).values():
        future.result(timeout=30)
    producer = Producer(admin_cfg)
    producer.produce(TOPIC, b"sealed-record")
    assert producer.flush(30) == 0

    assert read_one(client_config(kafka.bootstrap, ca, "streams", passwords["streams"])) == b"sealed-record"
    with pytest.raises(KafkaException) as other:  # another service's principal
        read_one(client_config(kafka.bootstrap, ca, "analytics", passwords["analytics"]))
    assert other.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    with pytest.raises((KafkaException, TimeoutError)):  # a wrong password: authentication fails
        read_one(client_config(kafka.bootstrap, ca, "streams", "not-the-password"))
    with pytest.raises((KafkaException, TimeoutError)):  # TLS without credentials
        read_one(client_config(kafka.bootstrap, ca))
    with pytest.raises((KafkaException, TimeoutError)):  # plaintext on the TLS port
        read_one({"bootstrap.servers": kafka.bootstrap})
