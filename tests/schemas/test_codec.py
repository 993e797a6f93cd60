"""The Confluent wire format as tables: what decodes, and what is refused with a ContractError naming no value."""
from __future__ import annotations

import io
import json
import struct

import pytest
from fastavro import parse_schema, schemaless_writer

from schemas import contracts
from schemas.codec import AvroCodec
from schemas.errors import ContractError
from schemas.phi import PhiCipher, Pseudonymizer
from schemas.registry import InProcessRegistry, RegistryError
from tests.schemas.examples import examples

EXAMPLES = examples(PhiCipher([("t1", b"\x05" * 32)]), Pseudonymizer(b"\x06" * 32))
PLAN = EXAMPLES["AppointmentPlan"]


def codec() -> AvroCodec:
    return AvroCodec("AppointmentPlan", "t-plans-value", InProcessRegistry())


def test_a_record_round_trips_with_the_schema_id_in_its_header() -> None:
    c = codec()
    data = c.encode(PLAN)
    assert data[0] == 0 and struct.unpack(">I", data[1:5])[0] == c.schema_id
    assert c.decode(data) == PLAN


GOOD = codec().encode(PLAN)
BAD_FRAMES = [
    pytest.param(b"", "bad magic byte", id="empty"),
    pytest.param(b"\x00\x00\x00", "bad magic byte", id="shorter-than-the-header"),
    pytest.param(b"\x01" + GOOD[1:], "bad magic byte", id="wrong-magic-byte"),
    pytest.param(b'{"organization_id": "x"}', "bad magic byte", id="json-not-avro"),
    pytest.param(GOOD[:5] + b"\xff", "does not decode", id="body-cut-short"),
    pytest.param(GOOD[:5], "does not decode", id="header-only"),
]


@pytest.mark.parametrize(("data", "error"), BAD_FRAMES)
def test_bad_frames_are_refused_naming_the_type(data: bytes, error: str) -> None:
    c = codec()
    with pytest.raises(ContractError, match=f"^AppointmentPlan: .*{error}") as info:
        c.decode(data)
    assert "clinic-42" not in str(info.value) and "appt-991" not in str(info.value)
    if error == "bad magic byte":
        with pytest.raises(ContractError):
            c.check_frame(data)
    else:
        c.check_frame(data)  # the header alone is fine: only decoding finds the body broken


@pytest.mark.parametrize("record", [
    pytest.param({**PLAN, "organization_id": 42}, id="wrong-type"),
    pytest.param({k: v for k, v in PLAN.items() if k != "organization_id"}, id="missing-field"),
    pytest.param({**PLAN, "start_at": "SECRET-VALUE"}, id="string-for-a-timestamp"),
])
def test_a_record_that_does_not_match_is_refused_without_its_values(record: dict[str, object]) -> None:
    with pytest.raises(ContractError, match=r"^AppointmentPlan: record does not match the schema") as info:
        codec().encode(record)
    assert "SECRET-VALUE" not in str(info.value) and "clinic-42" not in str(info.value)


def test_an_unknown_schema_id_is_the_registrys_error_for_the_caller_to_retry_or_dead_letter() -> None:
    c = codec()
    with pytest.raises(RegistryError, match=r"^schema id 999: unknown$"):
        c.decode(struct.pack(">bI", 0, 999) + GOOD[5:])


def test_an_older_registered_version_decodes_into_the_current_contract() -> None:
    """A writer schema without a field the current one adds with a default: the default is read."""
    registry = InProcessRegistry()
    current = AvroCodec("AppointmentPlan", "t-plans-value", registry)
    old = json.loads(contracts.schema_text("AppointmentPlan"))
    old["fields"] = [f for f in old["fields"] if f["name"] != "urgent"]
    old_text = json.dumps(old)
    old_id = registry.register("t-plans-value", old_text)
    buf = io.BytesIO()
    schemaless_writer(buf, parse_schema(json.loads(old_text)), {k: v for k, v in PLAN.items() if k != "urgent"})
    decoded = current.decode(struct.pack(">bI", 0, old_id) + buf.getvalue())
    assert decoded == {**PLAN, "urgent": False}
