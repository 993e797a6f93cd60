"""The local Apicurio registry serves what confluent-kafka's SchemaRegistryClient needs."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from stack.javaproc import free_port
from stack.registry import LocalRegistry

V1 = {"type": "record", "name": "Ping", "namespace": "carelay.test",
      "fields": [{"name": "id", "type": "string"}]}
V2_ADDITIVE = {**V1, "fields": [*V1["fields"], {"name": "n", "type": "int", "default": 0}]}
V2_BREAKING = {**V1, "fields": [*V1["fields"], {"name": "n", "type": "int"}]}


def avro(schema: dict) -> Schema:
    return Schema(json.dumps(schema), "AVRO")


def test_register_fetch_and_enforce_backward_compatibility(registry) -> None:
    subject = f"stack-test-{uuid.uuid4().hex[:8]}-value"
    with SchemaRegistryClient({"url": registry.url}) as client:
        client.set_compatibility(subject_name=subject, level="BACKWARD")
        assert client.get_compatibility(subject) == "BACKWARD"

        first = client.register_schema(subject, avro(V1))
        assert json.loads(client.get_schema(first).schema_str) == V1
        assert client.register_schema(subject, avro(V1)) == first  # idempotent, as Confluent's

        assert client.test_compatibility(subject, avro(V2_ADDITIVE)) is True
        assert client.test_compatibility(subject, avro(V2_BREAKING)) is False
        with pytest.raises(SchemaRegistryError) as refused:
            client.register_schema(subject, avro(V2_BREAKING))
        assert refused.value.http_status_code == 409

        second = client.register_schema(subject, avro(V2_ADDITIVE))
        assert second != first
        assert client.get_latest_version(subject).version == 2

        assert client.delete_subject(subject) == [1, 2]
        assert subject not in client.get_subjects()


@pytest.mark.timeout(240)
def test_kafkasql_storage_keeps_schemas_across_a_restart(kafka_factory, tmp_path: Path) -> None:
    # A private broker: Apicurio creates its own journal topics, which other tests should not see.
    broker = kafka_factory()
    subject = f"stack-test-{uuid.uuid4().hex[:8]}-value"
    with LocalRegistry(tmp_path / "registry", port=free_port(), kafka_bootstrap=broker.bootstrap) as server:
        with SchemaRegistryClient({"url": server.url}) as client:
            first = client.register_schema(subject, avro(V1))
        server.restart()
        with SchemaRegistryClient({"url": server.url}) as client:
            assert json.loads(client.get_schema(first).schema_str) == V1
            assert subject in client.get_subjects()
