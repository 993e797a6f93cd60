"""The read views' record rules, without Kafka: decode-and-apply, and keep-raw for compacted topics."""
from __future__ import annotations

from typing import Any

import pytest

from gateway.topicview import TopicView
from schemas.codec import AvroCodec
from schemas.phi import PhiCipher, Pseudonymizer
from schemas.registry import InProcessRegistry, RegistryError
from tests.schemas.examples import examples

PLAN = examples(PhiCipher([("t1", b"\x05" * 32)]), Pseudonymizer(b"\x06" * 32))["AppointmentPlan"]
CODEC = AvroCodec("AppointmentPlan", "t-plans-value", InProcessRegistry())
V1 = CODEC.encode(PLAN)
V2 = CODEC.encode({**PLAN, "kind": "CANCELLED"})
JUNK = b"\x07not avro"


class Recorder(TopicView):
    """A view that records what `apply` is given (never started: no consumer thread)."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1:1", "unused", CODEC)
        self.applied: list[tuple[bytes | None, dict[str, Any] | None]] = []

    def apply(self, key: bytes | None, record: dict[str, Any] | None) -> None:
        self.applied.append((key, record))


@pytest.mark.parametrize(("value", "applied", "errors"), [
    pytest.param(V1, [(b"k", PLAN)], 0, id="record-decoded-and-applied"),
    pytest.param(None, [(b"k", None)], 0, id="tombstone-applied-as-none"),
    pytest.param(JUNK, [], 1, id="bad-frame-skipped-and-counted"),
    pytest.param(V1[:6], [], 1, id="undecodable-body-skipped-and-counted"),
])
def test_take(value: bytes | None, applied: list[tuple[bytes, object]], errors: int) -> None:
    view = Recorder()
    view.take(b"k", value)
    assert (view.applied, view.decode_errors) == (applied, errors)


KEEP_RAW = [
    # (records before, value taken for "k") -> (records after, decode errors)
    pytest.param({}, V1, {"k": V1}, 0, id="first-record-kept"),
    pytest.param({"k": V1}, V2, {"k": V2}, 0, id="last-value-wins"),
    pytest.param({"k": V1, "other": V1}, None, {"other": V1}, 0, id="tombstone-deletes"),
    pytest.param({}, None, {}, 0, id="tombstone-of-nothing"),
    pytest.param({"k": V1}, JUNK, {"k": V1}, 1, id="bad-frame-skipped-previous-stays"),
    pytest.param({"k": V1}, V2[:6], {"k": V2[:6]}, 0, id="good-header-kept-undecoded"),
]


@pytest.mark.parametrize(("before", "value", "after", "errors"), KEEP_RAW)
def test_keep_raw(before: dict[str, bytes], value: bytes | None, after: dict[str, bytes], errors: int) -> None:
    view = Recorder()
    records = dict(before)
    view.keep_raw(records, "k", value)
    assert (records, view.decode_errors) == (after, errors)


def test_a_record_kept_raw_decodes_on_demand_or_counts_as_skipped() -> None:
    view = Recorder()
    assert view.decode(V1) == PLAN
    assert view.decode(V2[:6]) is None and view.decode_errors == 1


def test_a_view_never_started_is_not_loaded_and_closes() -> None:
    view = Recorder()
    assert not view.loaded
    view.close()


def written_elsewhere() -> tuple[InProcessRegistry, bytes]:
    """A plan framed with a schema id (3) a reader that registered only its own schema (1) never saw."""
    writer = InProcessRegistry()
    writer.register("other-a", '"string"')
    writer.register("other-b", '"long"')
    return writer, AvroCodec("AppointmentPlan", "t-plans-value", writer).encode(PLAN)


class FlakyRegistry(InProcessRegistry):
    """Ids of its own for what it registers; lookups answered by `source`, unreachable for the first `down`."""

    def __init__(self, source: InProcessRegistry, down: int) -> None:
        super().__init__()
        self.source, self.down = source, down

    def schema_text(self, schema_id: int) -> str:
        if self.down:
            self.down -= 1
            raise RegistryError("schema registry unreachable")
        return self.source.schema_text(schema_id)


def reading_with(registry: InProcessRegistry) -> Recorder:
    view = Recorder()
    view._codec = AvroCodec("AppointmentPlan", "t-plans-value", registry)
    return view


def test_an_unreachable_registry_is_waited_out_and_the_record_kept() -> None:
    writer, value = written_elsewhere()
    view = reading_with(FlakyRegistry(writer, down=2))
    view.take(b"k", value)
    assert (view.applied, view.decode_errors, view.registry_waits) == ([(b"k", PLAN)], 0, 2)


def test_an_unknown_schema_id_skips_that_record_only() -> None:
    _, value = written_elsewhere()
    view = reading_with(InProcessRegistry())
    view.take(b"k", value)
    view.take(b"k2", None)
    assert (view.applied, view.decode_errors, view.registry_waits) == ([(b"k2", None)], 1, 0)
