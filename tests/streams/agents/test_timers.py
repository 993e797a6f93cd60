"""The reconciliation sweep ends a message still waiting past its expires_at (one parked by an older
release, or a retry parked past it), drops it from the patient's queue, and tells: an `expired`
outcome and a MessageState. The runtime and tables are stand-ins; no Kafka."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from types import SimpleNamespace
from typing import Any, cast

from streams.agents.timers import Sweeper
from streams.decide.intake import decide
from streams.decide.records import Held, Message, Patient
from streams.statecodec import dumps, loads
from tests.streams.decide.helpers import request, world
from tests.streams.decide.test_patient_queue import NOW, parked


class Table:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.written: dict[str, Any] = {}

    def records(self, changes: dict[str, Any]) -> list[tuple[str, bytes | None, bytes | None, int | None]]:
        self.written.update(changes)
        return []


class Topic:
    def __init__(self, name: str) -> None:
        self.name = name
        self.codec = SimpleNamespace(encode=lambda record: record)


def runtime(now: int, emitted: list[tuple[str, Any]]) -> Any:
    async def emit(out: Any) -> None:
        emitted.extend((topic, value) for topic, _key, value, _part in out.records)

    async def send_all(_records: list[Any]) -> None:
        return None

    catalog = SimpleNamespace(outcomes=Topic("outcomes"), message_state=Topic("state"),
                              staff_notifications=Topic("staff"), appointment_events=Topic("events"))
    return SimpleNamespace(now=lambda: now, partition=lambda _rid: 0, catalog=catalog, emit=emit,
                           send_all=send_all,
                           metrics=SimpleNamespace(decide=lambda *_: None, outcome=lambda *_, **__: None),
                           summary=SimpleNamespace(changed=lambda *_: None))


def test_the_sweep_ends_a_held_message_past_its_expiry_and_frees_its_place() -> None:
    held = replace(parked("m1"), expires_at_ms=NOW + 25_000)
    fresh = parked("m2")
    routed = decide(Patient(), None, request("m3"), world(NOW), {}).message
    assert isinstance(routed, Message)
    messages = {f"rid1|{m.message_id}": m for m in (held, fresh, replace(routed, expires_at_ms=NOW))}
    patient = Patient(held=(Held("m1", "rate_limited", NOW + 1_200_000), Held("m2", "rate_limited", NOW)))
    patients, table = Table({"rid1": patient}), Table(messages)
    emitted: list[tuple[str, Any]] = []
    sweeper = Sweeper(runtime(NOW + 25_000, emitted), cast(Any, patients), cast(Any, table), lambda: {0})

    ended = asyncio.run(sweeper.end_overdue(list(messages.values())))

    assert ended == 1  # m2 has no expiry; m3 is planned, the dispatcher's to screen
    m1 = table.data["rid1|m1"]
    assert (m1.status, m1.is_final, m1.history[-1].reason) == ("expired", True, "expired_while_waiting")
    assert [h.message_id for h in patients.data["rid1"].held] == ["m2"]
    assert [(t, v["status"]) for t, v in emitted] == [("outcomes", "expired"), ("state", "expired")]
    assert set(table.written) == {"rid1|m1"} and set(patients.written) == {"rid1"}


def test_the_patient_queue_survives_the_changelog_and_older_records_read_with_an_empty_one() -> None:
    patient = Patient("clinic", held=(Held("m1", "quiet_hours", 5), Held("m2", "queued", 6)), timezone="Asia/Tokyo")
    assert loads(Patient, dumps(patient)) == patient
    assert loads(Patient, b'{"organization_id": "clinic", "pending": []}') == Patient("clinic")
