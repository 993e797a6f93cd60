"""The Avro contracts: every event encodes and decodes, and today's readers read every released version."""
import io
import json

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from schemas import contracts
from schemas.codec import AvroCodec
from schemas.errors import ContractError
from schemas.phi import PhiCipher, Pseudonymizer
from schemas.registry import InProcessRegistry
from tests.schemas.examples import CLEAR_PHI, examples

CIPHER = PhiCipher([("t1", b"\x05" * 32)])
PSEUDO = Pseudonymizer(b"\x06" * 32)
EXAMPLES = examples(CIPHER, PSEUDO)


def test_every_event_type_has_an_example():
    assert set(EXAMPLES) == set(contracts.EVENT_TYPES)


@pytest.mark.parametrize("name", contracts.EVENT_TYPES)
def test_round_trip_in_confluent_wire_format(name):
    codec = AvroCodec(name, f"t-{name}-value", InProcessRegistry())
    data = codec.encode(EXAMPLES[name])
    assert data[0] == 0 and int.from_bytes(data[1:5], "big") == codec.schema_id
    decoded = codec.decode(data)
    assert decoded == EXAMPLES[name]  # timestamps included: they decode as int epoch millis
    for phi in CLEAR_PHI:
        assert phi.encode() not in data


@pytest.mark.parametrize("name", contracts.EVENT_TYPES)
def test_released_versions_are_readable_by_current_schema(name):
    """Backward compatibility without a registry: data written with every released version decodes now."""
    versions = contracts.released_versions(name)
    assert versions, f"{name} has no released snapshot: run python -m schemas.release"
    current = contracts.parsed(name)
    for path in versions:
        old = parse_schema(json.loads(path.read_text()))
        buf = io.BytesIO()
        # the current example may have fields the old version lacks: write only what the old one knows
        schemaless_writer(buf, old, _project(EXAMPLES[name], json.loads(path.read_text())))
        buf.seek(0)
        schemaless_reader(buf, old, current)


def _project(record, schema):
    names = {f["name"] for f in schema["fields"]}
    return {k: v for k, v in record.items() if k in names}


def test_encode_error_does_not_quote_values():
    codec = AvroCodec("SendRequest", "t-value", InProcessRegistry())
    bad = dict(EXAMPLES["SendRequest"], recipient="+5215599887766")
    with pytest.raises(ContractError) as info:
        codec.encode(bad)
    assert "5599887766" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_decode_rejects_foreign_bytes():
    codec = AvroCodec("AuditRecord", "t-value", InProcessRegistry())
    with pytest.raises(ContractError, match="magic"):
        codec.decode(b'{"json": true}')
    with pytest.raises(ContractError):
        codec.decode(codec.encode(EXAMPLES["AuditRecord"])[:8])


def test_old_writer_schema_resolved_through_registry():
    registry = InProcessRegistry()
    current = json.loads(contracts.schema_text("CircuitEvent"))
    old_text = json.dumps(dict(current, fields=[f for f in current["fields"] if f["name"] != "failures"]))
    # an older writer that lacked a field the reader has with no default is incompatible: the reader must fail
    old_id = registry.register("s", old_text)
    codec = AvroCodec("CircuitEvent", "s", registry)
    buf = io.BytesIO()
    rec = {k: v for k, v in EXAMPLES["CircuitEvent"].items() if k != "failures"}
    schemaless_writer(buf, parse_schema(json.loads(old_text)), rec)
    with pytest.raises(ContractError):
        codec.decode(b"\x00" + old_id.to_bytes(4, "big") + buf.getvalue())
