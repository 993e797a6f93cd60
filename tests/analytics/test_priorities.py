"""Urgent messages reported apart from normal ones (`queries.priorities`), on the embedded engine."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analytics import queries
from analytics.migrations import migrate
from analytics.store import open_client
from schemas.settings import ClickHouseSettings
from tests.analytics import figures
from tests.analytics.scenario import Scenario

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def outcomes(sc: Scenario, mid: str, priority: str, steps: list[tuple[str, int, str, int, bool, str | None]]) -> None:
    """DeliveryOutcomes of one message: (status, hop, channel, ms after acceptance, is_final, reason)."""
    previous = None
    for status, hop, channel, after_ms, final, reason in steps:
        at = int((START + timedelta(milliseconds=after_ms)).timestamp() * 1000)
        sc.records.append(("DeliveryOutcome", {
            "event_id": f"{mid}:{hop}:{status}", "message_id": mid, "organization_id": "clinic-a",
            "recipient_id": f"rid-{mid}", "status": status, "previous_status": previous, "channel": channel,
            "provider": None if channel == "UNKNOWN" else "twilio", "attempt_id": f"{mid}:{hop}", "hop": hop,
            "priority": priority, "template": "urgent_notice", "error_code": None, "reason": reason,
            "is_final": final, "occurred_at": at, "accepted_at": int(START.timestamp() * 1000),
        }))
        previous = status


def test_urgent_and_normal_messages_are_counted_apart(tmp_path: Path) -> None:
    sc = Scenario(START)
    # urgent, delivered on WhatsApp, unread, then called (the call unanswered): delivered, escalated
    outcomes(sc, "u1", "URGENT", [
        ("accepted", 0, "UNKNOWN", 0, False, None), ("routed", 0, "WHATSAPP", 10, False, "first_choice"),
        ("sent", 0, "WHATSAPP", 100, False, None), ("delivered", 0, "WHATSAPP", 400, True, None),
        ("routed", 1, "VOICE", 600_400, True, "urgent_unread"), ("undelivered", 1, "VOICE", 630_000, True, None),
    ])
    # urgent, failed on every channel
    outcomes(sc, "u2", "URGENT", [
        ("accepted", 0, "UNKNOWN", 0, False, None), ("routed", 0, "WHATSAPP", 10, False, "first_choice"),
        ("failed", 0, "WHATSAPP", 200, False, "fallback_permanent_failure"),
        ("routed", 1, "SMS", 210, False, "fallback_permanent_failure"),
        ("undelivered", 1, "SMS", 900, True, "no_channel_left"),
    ])
    # normal, delivered and read; normal, blocked
    outcomes(sc, "n1", "NORMAL", [
        ("accepted", 0, "UNKNOWN", 0, False, None), ("routed", 0, "SMS", 10, False, "first_choice"),
        ("delivered", 0, "SMS", 2_000, True, None), ("read", 0, "SMS", 9_000, True, None),
    ])
    outcomes(sc, "n2", "NORMAL", [
        ("accepted", 0, "UNKNOWN", 0, False, None), ("blocked", 0, "UNKNOWN", 5, True, "blocked_no_consent"),
    ])
    ch = ClickHouseSettings(path=str(tmp_path / "chdb"))
    store = open_client(ch)
    try:
        migrate(store, ch)
        figures.load(store, sc)
        rows = figures.dicts(queries.priorities(store, START, START + timedelta(hours=1)))
        later = queries.priorities(store, START + timedelta(hours=1), START + timedelta(hours=2))
    finally:
        store.close()
    got: dict[str, dict[str, Any]] = {r["priority"]: r for r in rows}
    assert [r["priority"] for r in rows] == ["URGENT", "NORMAL"]
    assert {k: got["URGENT"][k] for k in ("messages", "delivered_messages", "read_messages", "failed_messages",
                                          "voice_escalations", "delivery_rate")} == {
        "messages": 2, "delivered_messages": 1, "read_messages": 0, "failed_messages": 1, "voice_escalations": 1,
        "delivery_rate": 0.5}
    assert got["URGENT"]["p50_delivered_ms"] == 400
    assert {k: got["NORMAL"][k] for k in ("messages", "delivered_messages", "read_messages", "failed_messages",
                                          "voice_escalations")} == {
        "messages": 2, "delivered_messages": 1, "read_messages": 1, "failed_messages": 0, "voice_escalations": 0}
    assert got["NORMAL"]["p50_delivered_ms"] == 2_000
    assert later.rows == []  # messages count in the range they were accepted in
