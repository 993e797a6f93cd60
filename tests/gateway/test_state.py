"""The message-state view and its public shape, without Kafka: reasons from old records, times, keyless records."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from gateway.state import MessageStateView, accepted_only, iso, present
from schemas.codec import AvroCodec
from schemas.phi import PhiCipher, Pseudonymizer
from schemas.registry import InProcessRegistry
from tests.schemas.examples import examples

STATE = examples(PhiCipher([("t1", b"\x05" * 32)]), Pseudonymizer(b"\x06" * 32))["MessageState"]
CODEC = AvroCodec("MessageState", "t-state-value", InProcessRegistry())


@pytest.mark.parametrize(("value", "shown"), [
    pytest.param(None, None, id="none"),
    pytest.param(0, "1970-01-01T00:00:00.000Z", id="epoch"),
    pytest.param(1_764_090_000_230, "2025-11-25T17:00:00.230Z", id="epoch-milliseconds"),
    pytest.param(datetime(2026, 3, 1, 12, 0, 0, 5000, tzinfo=UTC), "2026-03-01T12:00:00.005Z", id="aware-utc"),
    pytest.param(datetime(2026, 3, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5))), "2026-03-01T12:00:00.000Z",
                 id="aware-other-zone-in-utc"),
])
def test_iso(value: Any, shown: str | None) -> None:
    assert iso(value) == shown


def entry(status: str, *, late: bool = False, reason: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"status": status, "at": 5, "late": late, "reason": reason, "error_code": code}


WHY = [
    # (status, reason and code on the record, history) -> (reason, error_code, next_attempt_at) shown
    pytest.param("failed", ("no_channel_left", "131026"), [], ("no_channel_left", "131026", None),
                 id="as-the-streams-wrote-it"),
    pytest.param("accepted", ("rate_limited", None), [], ("rate_limited", None, "1970-01-01T00:00:09.000Z"),
                 id="waiting-with-its-next-try"),
    pytest.param("failed", (None, None), [entry("failed", reason="final_error", code="131051")],
                 ("final_error", "131051", None), id="older-record-reason-from-the-ending-entry"),
    pytest.param("failed", (None, "30003"), [entry("failed", reason="no_channel_left", code="131026")],
                 ("no_channel_left", "30003", None), id="older-record-keeps-its-own-code"),
    pytest.param("failed", (None, None), [entry("failed", reason="final_error"), entry("failed", late=True,
                                                                                     reason="x", code="9")],
                 ("final_error", None, None), id="late-entry-never-explains"),
    pytest.param("expired", (None, None), [entry("failed", reason="no_channel_left")], (None, None, None),
                 id="no-entry-of-the-ending-status"),
    pytest.param("delivered", (None, None), [entry("failed", reason="final_error")], (None, None, None),
                 id="not-failed-nothing-to-explain"),
]


@pytest.mark.parametrize(("status", "written", "history", "shown"), WHY)
def test_reason_and_code(status: str, written: tuple[str | None, str | None], history: list[dict[str, Any]],
                         shown: tuple[str | None, str | None, str | None]) -> None:
    record = {"message_id": "m1", "status": status, "reason": written[0], "error_code": written[1],
              "next_attempt_at": 9_000 if status == "accepted" else None, "history": history}
    p = present(record)
    assert (p["reason"], p["error_code"], p["next_attempt_at"]) == shown


def test_present_names_no_recipient() -> None:
    p = present(CODEC.decode(CODEC.encode(STATE)))
    assert "recipient_id" not in p and "organization_id" not in p
    assert p["message_id"] == STATE["message_id"] and len(p["history"]) == len(STATE["history"])


def test_accepted_only_is_the_one_accepted_event() -> None:
    p = accepted_only("m1", 1_000)
    assert (p["status"], p["created_at"], p["updated_at"]) == ("accepted", "1970-01-01T00:00:01.000Z",
                                                               "1970-01-01T00:00:01.000Z")
    assert [(h["status"], h["source"]) for h in p["history"]] == [("accepted", "gateway")]
    assert set(p) == set(present({"message_id": "m1", "status": "accepted"}))


def view() -> MessageStateView:
    return MessageStateView("127.0.0.1:1", "unused", CODEC)  # never started


def test_the_view_keeps_the_last_state_per_message() -> None:
    v = view()
    first = CODEC.encode(STATE)
    later = CODEC.encode({**STATE, "status": "read"})
    mid = STATE["message_id"].encode()
    v.take(mid, first)
    v.take(mid, later)
    v.take(b"other", b"\x05junk")
    assert len(v) == 1 and v.has(STATE["message_id"]) and not v.has("other")
    got = v.get(STATE["message_id"])
    assert got is not None and got["status"] == "read" and v.decode_errors == 1
    v.take(mid, None)
    assert v.get(STATE["message_id"]) is None and len(v) == 0


def test_a_keyless_record_is_kept_under_its_own_message_id_and_an_undecodable_one_is_dropped() -> None:
    v = view()
    v.take(None, CODEC.encode(STATE))
    assert v.has(STATE["message_id"])
    v.take(None, b"\x00\x00\x00\x00\x01\xff")
    v.take(None, None)
    assert len(v) == 1 and v.decode_errors == 1
