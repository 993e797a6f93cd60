"""The send's `timezone` field, and how a held or scheduled message reads in GET /v1/messages/{id}:
pure, no Kafka."""
from __future__ import annotations

import time

import pytest

from gateway.errors import InvalidField, spec_for
from gateway.state import present
from gateway.validation import parse_send
from schemas.templates import default_catalog
from tests.gateway.helpers import send_body

NOW = int(time.time() * 1000)
CATALOG = default_catalog()


def parse(body: object, prefix: str = ""):
    return parse_send(body, now_ms=NOW, catalog=CATALOG, header_key="k1", prefix=prefix)


@pytest.mark.parametrize("zone", ["America/Mexico_City", "Asia/Tokyo", "UTC"])
def test_an_iana_zone_is_taken(zone: str) -> None:
    assert parse(send_body(timezone=zone)).timezone == zone


@pytest.mark.parametrize("bad", ["Mars/Olympus", "", "  UTC", "x" * 65, 5, "../../etc/passwd"],
                         ids=["unknown", "empty", "padded", "long", "number", "path"])
def test_a_zone_that_is_not_iana_is_a_4xx_naming_the_field(bad: object) -> None:
    with pytest.raises(InvalidField) as info:
        parse(send_body(timezone=bad))
    assert info.value.field == "timezone" and 400 <= spec_for(info.value).status < 500
    with pytest.raises(InvalidField) as item:
        parse(send_body(timezone=bad), prefix="items[2].")
    assert item.value.field == "items[2].timezone"


def test_a_send_without_a_zone_keeps_its_fingerprint() -> None:
    """Idempotency fingerprints of sends from before the field existed still match."""
    plain = parse(send_body())
    assert b"timezone" not in plain.canonical()
    assert parse(send_body(timezone="UTC")).canonical() != plain.canonical()


def state(status: str, reason: str | None, next_ms: int | None, final: bool = False) -> dict[str, object]:
    return {"message_id": "m1", "organization_id": "o", "recipient_id": "r", "status": status,
            "channel": "UNKNOWN", "provider": None, "provider_message_id": None, "hop": 0, "is_final": final,
            "created_at": 0, "updated_at": 0, "history": [], "reason": reason, "next_attempt_at": next_ms}


SHOWN = [
    ("scheduled", "accepted", "send_at", 1_000, "scheduled", "1970-01-01T00:00:01.000Z"),
    ("held_by_the_rate_limit", "accepted", "rate_limited", 2_000, "held", "1970-01-01T00:00:02.000Z"),
    ("held_for_quiet_hours", "accepted", "quiet_hours", 3_000, "held", "1970-01-01T00:00:03.000Z"),
    ("accepted_and_not_waiting", "accepted", None, None, "accepted", None),
    ("routed", "routed", None, None, "routed", None),
]


@pytest.mark.parametrize(("status", "reason", "next_ms", "shown", "next_iso"), [c[1:] for c in SHOWN],
                         ids=[c[0] for c in SHOWN])
def test_a_waiting_message_reads_held_or_scheduled_with_reason_and_next_attempt(
        status: str, reason: str | None, next_ms: int | None, shown: str, next_iso: str | None) -> None:
    doc = present(state(status, reason, next_ms))
    assert (doc["status"], doc["reason"], doc["next_attempt_at"]) == (shown, reason, next_iso)


def test_a_state_written_before_the_fields_existed_reads_as_before() -> None:
    old = state("accepted", None, None)
    del old["reason"], old["next_attempt_at"]
    doc = present(old)
    assert (doc["status"], doc["reason"], doc["next_attempt_at"]) == ("accepted", None, None)
