"""streams.decide.rekey: every sealed value of the state records, with the binding the agents open it with."""
from __future__ import annotations

from dataclasses import replace

import pytest

from schemas.phi import Binding
from streams.care.ai_bridge import Bridge, Waiting
from streams.care.schedule import Kind, Planned
from streams.decide.records import Message, Patient, Reminders, SealedState
from streams.decide.rekey import STATE_TABLES, map_sealed

OLD: SealedState = ("v1", "bm9uY2U=", "Y3Q=", "2")
NEW: SealedState = ("v2", "bm9uY2U=", "Y3Q=", "2")


def planned(aid: str) -> Planned:
    return Planned(aid, "clinic-a", "rid1", Kind.BOOKED, None, "UTC", "es", None, 0)


def message(params: SealedState | None) -> Message:
    return Message("m-1", "clinic-a", "rid1", "NORMAL", ("SMS",), "reminder", "es", False, "confirm", "appt-1",
                   True, 0, None, params=params)


CASES = [
    pytest.param(Patient("clinic-a"), [], id="patient-without-sealed-values"),
    pytest.param(Patient("clinic-a", appointments=(Reminders(planned("appt-1"), OLD, OLD),)),
                 [("recipient", Binding("clinic-a", "appt-1")), ("recipient_name", Binding("clinic-a", "appt-1"))],
                 id="reminders-number-and-name-bound-to-the-appointment"),
    pytest.param(Patient("clinic-a", appointments=(Reminders(planned("appt-2"), OLD),)),
                 [("recipient", Binding("clinic-a", "appt-2"))], id="reminders-without-a-name"),
    pytest.param(Patient("clinic-a", appointments=(Reminders(planned("appt-3"), ("", "", "")),)), [],
                 id="reminders-with-nothing-sealed"),
    pytest.param(Patient("clinic-a", ai=Bridge((Waiting("r-1", "twilio:SM1", "SMS", "es", 0, None, OLD),
                                                 Waiting("r-2", "twilio:SM2", "SMS", "es", 0, None, None)))),
                 [("recipient", Binding("clinic-a", "twilio:SM1"))], id="ai-answer-address-bound-to-its-inbound"),
    pytest.param(message(OLD), [("params", Binding("clinic-a", "m-1"))], id="message-params-bound-to-the-message"),
    pytest.param(message(None), [], id="message-without-params"),
]


@pytest.mark.parametrize(("record", "expected"), CASES)
def test_every_sealed_value_is_visited_with_its_binding(record: object, expected: list[tuple[str, Binding]]) -> None:
    seen: list[tuple[str, Binding]] = []

    def visit(field: str, value: SealedState, binding: Binding) -> SealedState:
        seen.append((field, binding))
        return value

    assert map_sealed(record, visit) is record  # unchanged values: the same record, nothing to write
    assert seen == expected


@pytest.mark.parametrize(("record", "expected"), CASES)
def test_replaced_values_land_where_they_were(record: object, expected: list[tuple[str, Binding]]) -> None:
    fresh = map_sealed(record, lambda field, value, binding: NEW)
    left: list[str] = []
    map_sealed(fresh, lambda field, value, binding: left.append(value[0]) or value)  # type: ignore[func-returns-value]
    assert left == ["v2"] * len(expected)
    if expected:
        assert fresh != record
    if isinstance(record, Patient):
        assert replace(fresh, appointments=record.appointments, ai=record.ai) == record  # nothing else changes


def test_the_tables_are_the_workers_tables() -> None:
    from pathlib import Path

    app = (Path(__file__).resolve().parents[3] / "streams" / "app.py").read_text()
    for name, record in STATE_TABLES.items():
        assert f'add_table(app, "{name}", {record.__name__},' in app
