"""Schema registries: the in-process one (pure) and a real Confluent-compatible server (the shared test registry)."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from schemas.errors import SchemaCompatibilityError
from schemas.registry import (
    ConfluentRegistry,
    InProcessRegistry,
    RegistryError,
    UnknownSchemaError,
    registry_from_url,
)

V1 = json.dumps({"type": "record", "name": "Probe", "namespace": "io.carelay.test",
                 "fields": [{"name": "a", "type": "string"}]})
V2_WITH_DEFAULT = json.dumps({**json.loads(V1), "fields": [{"name": "a", "type": "string"},
                                                           {"name": "b", "type": "int", "default": 0}]})
V2_NO_DEFAULT = json.dumps({**json.loads(V1), "fields": [{"name": "a", "type": "string"},
                                                         {"name": "b", "type": "int"}]})


def test_in_process_ids_are_stable_per_schema_text() -> None:
    r = InProcessRegistry()
    first = r.register("s-value", V1)
    assert r.register("other-value", V1) == first
    second = r.register("s-value", V2_WITH_DEFAULT)
    assert second != first
    assert (r.schema_text(first), r.schema_text(second)) == (V1, V2_WITH_DEFAULT)
    assert r.is_compatible("s-value", V2_NO_DEFAULT)  # no rules in process
    with pytest.raises(UnknownSchemaError, match=r"^schema id 99: unknown$"):
        r.schema_text(99)
    r.close()


@pytest.mark.parametrize(("url", "kind"), [
    pytest.param("inprocess", InProcessRegistry, id="in-process"),
    pytest.param("http://127.0.0.1:1/apis/ccompat/v7", ConfluentRegistry, id="server"),
])
def test_registry_from_url(url: str, kind: type) -> None:
    assert isinstance(registry_from_url(url), kind)


def test_an_unreachable_server_is_a_registry_error() -> None:
    r = ConfluentRegistry("http://127.0.0.1:1")
    with pytest.raises(RegistryError, match="unreachable"):
        r.register("probe-value", V1)
    with pytest.raises(RegistryError, match=r"^schema id 1: schema registry unreachable$") as raised:
        r.schema_text(1)
    assert not isinstance(raised.value, UnknownSchemaError)  # waited out by readers, never skipped
    r.close()


def test_a_real_registry_keeps_backward_compatibility(registry: Any) -> None:
    r = ConfluentRegistry(registry.url)
    subject = f"probe-{uuid.uuid4().hex}-value"
    assert r.is_compatible(subject, V2_NO_DEFAULT)  # nothing registered yet
    first = r.register(subject, V1)
    assert json.loads(r.schema_text(first)) == json.loads(V1)
    assert r.is_compatible(subject, V2_WITH_DEFAULT)
    assert not r.is_compatible(subject, V2_NO_DEFAULT)
    second = r.register(subject, V2_WITH_DEFAULT)
    assert second != first
    with pytest.raises(SchemaCompatibilityError, match=f"^{subject}: schema is not BACKWARD-compatible"):
        r.register(f"{subject}", json.dumps({**json.loads(V1), "fields": [{"name": "a", "type": "int"}]}))
    r.close()


def test_a_real_registry_tells_an_unknown_id_from_an_outage(registry: Any) -> None:
    r = ConfluentRegistry(registry.url)
    with pytest.raises(UnknownSchemaError, match=r"^schema id 987654: not found in the registry$"):
        r.schema_text(987654)
    r.close()
