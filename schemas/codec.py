"""Avro in the Confluent wire format: magic byte 0, 4-byte big-endian schema id, schemaless Avro body."""
from __future__ import annotations

import io
import json
import struct
from functools import lru_cache
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from schemas import contracts
from schemas.errors import ContractError
from schemas.registry import SchemaRegistry

MAGIC = 0
_HEADER = struct.Struct(">bI")


class AvroCodec:
    """Encodes with the current contract; decodes any registered version into the current one.

    Timestamps are plain int epoch milliseconds both ways: the schemas used here drop the
    timestamp `logicalType` (the bytes are the same long; the registered text keeps it), which
    spares a datetime per field on the hot path.
    """

    def __init__(self, type_name: str, subject: str, registry: SchemaRegistry) -> None:
        self.type_name = type_name
        self.subject = subject
        self._schema = _reading_schema(contracts.schema_text(type_name))
        self._registry = registry
        self.schema_id = registry.register(subject, contracts.schema_text(type_name))
        self._header = _HEADER.pack(MAGIC, self.schema_id)
        self._writers: dict[int, Any] = {self.schema_id: self._schema}

    def encode(self, record: dict[str, Any]) -> bytes:
        buf = io.BytesIO()
        buf.write(self._header)
        try:
            schemaless_writer(buf, self._schema, record)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # fastavro's message can quote field values, which may be PHI: keep only the type name.
            raise ContractError(f"{self.type_name}: record does not match the schema ({type(exc).__name__})") from None
        return buf.getvalue()

    def check_frame(self, data: bytes) -> None:
        """The cheap part of `decode`: the wire-format header, without decoding the body."""
        if len(data) < _HEADER.size or data[0] != MAGIC:
            raise ContractError(f"{self.type_name}: not Confluent wire format (bad magic byte)")

    def decode(self, data: bytes) -> dict[str, Any]:
        self.check_frame(data)
        _, schema_id = _HEADER.unpack_from(data)
        writer = self._writers.get(schema_id)
        if writer is None:
            writer = self._writers[schema_id] = _reading_schema(self._registry.schema_text(schema_id))
        try:
            record: dict[str, Any] = schemaless_reader(  # type: ignore[assignment]
                io.BytesIO(data[_HEADER.size:]), writer, None if writer is self._schema else self._schema
            )
        except Exception as exc:
            raise ContractError(
                f"{self.type_name}: body does not decode with schema id {schema_id} ({type(exc).__name__})"
            ) from None
        return record


def _without_logical_types(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("logicalType") in ("timestamp-millis", "timestamp-micros") and node.get("type") == "long":
            return "long"
        return {k: _without_logical_types(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_without_logical_types(v) for v in node]
    return node


@lru_cache(maxsize=256)
def _reading_schema(text: str) -> Any:
    return parse_schema(_without_logical_types(json.loads(text)))
