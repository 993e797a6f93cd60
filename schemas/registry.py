"""The schema registry behind one small interface: a Confluent-compatible server, or in-process ids.

Producers in any language use the registry's ids in the Confluent wire format, so production runs
the Confluent-compatible server (Apicurio locally, Confluent or Apicurio in production).
`InProcessRegistry` exists for pure unit tests and single-process tools that never share bytes.
"""
from __future__ import annotations

import threading
from typing import Protocol

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schemas.errors import CarelayError, ContractError, SchemaCompatibilityError


class RegistryError(CarelayError):
    """The schema registry could not be reached or refused a request."""


class UnknownSchemaError(RegistryError, ContractError):
    """The registry holds no schema with a record's id: that record breaks the contract (skip or
    dead-letter it), unlike an unreachable registry, which a reader waits out."""


class SchemaRegistry(Protocol):
    def register(self, subject: str, schema_text: str) -> int: ...
    def schema_text(self, schema_id: int) -> str: ...
    def is_compatible(self, subject: str, schema_text: str) -> bool: ...
    def close(self) -> None: ...


class ConfluentRegistry:
    """Any server speaking the Confluent Schema Registry API (Confluent, Apicurio's ccompat)."""

    def __init__(self, url: str, *, compatibility: str = "BACKWARD") -> None:
        self._client = SchemaRegistryClient({"url": url})
        self._compatibility = compatibility
        self._configured: set[str] = set()

    def register(self, subject: str, schema_text: str) -> int:
        try:
            if subject not in self._configured:
                self._client.set_compatibility(subject_name=subject, level=self._compatibility)
                self._configured.add(subject)
            return int(self._client.register_schema(subject, Schema(schema_text, "AVRO")))
        except SchemaRegistryError as exc:
            if exc.http_status_code == 409:
                raise SchemaCompatibilityError(
                    f"{subject}: schema is not {self._compatibility}-compatible with the registered one"
                ) from exc
            raise RegistryError(f"{subject}: registry refused registration ({exc.http_status_code})") from exc
        except Exception as exc:  # transport errors surface as various requests/httpx errors
            raise RegistryError(f"{subject}: schema registry unreachable") from exc

    def close(self) -> None:
        self._client.close()

    def schema_text(self, schema_id: int) -> str:
        try:
            return str(self._client.get_schema(schema_id).schema_str)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise UnknownSchemaError(f"schema id {schema_id}: not found in the registry") from exc
            raise RegistryError(f"schema id {schema_id}: registry refused the lookup ({exc.http_status_code})") \
                from exc
        except Exception as exc:
            raise RegistryError(f"schema id {schema_id}: schema registry unreachable") from exc

    def is_compatible(self, subject: str, schema_text: str) -> bool:
        try:
            return bool(self._client.test_compatibility(subject, Schema(schema_text, "AVRO")))
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:  # nothing registered yet: anything is compatible
                return True
            raise RegistryError(f"{subject}: compatibility check failed ({exc.http_status_code})") from exc


class InProcessRegistry:
    """Ids assigned in this process; no compatibility rules. Never for bytes that leave the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[str, int] = {}
        self._texts: dict[int, str] = {}

    def register(self, subject: str, schema_text: str) -> int:
        with self._lock:
            if schema_text not in self._ids:
                new_id = len(self._ids) + 1
                self._ids[schema_text] = new_id
                self._texts[new_id] = schema_text
            return self._ids[schema_text]

    def schema_text(self, schema_id: int) -> str:
        try:
            return self._texts[schema_id]
        except KeyError:
            raise UnknownSchemaError(f"schema id {schema_id}: unknown") from None

    def is_compatible(self, subject: str, schema_text: str) -> bool:
        return True

    def close(self) -> None:
        pass


def registry_from_url(url: str) -> SchemaRegistry:
    """`CARELAY_SCHEMA_REGISTRY_URL`: an http(s) URL, or `inprocess` for single-process tools."""
    if url == "inprocess":
        return InProcessRegistry()
    return ConfluentRegistry(url)
