"""Alertmanager's webhook body to staff notices (gateway.alerts.notices): one row per named case."""
from __future__ import annotations

from typing import Any

import pytest

from gateway.alerts import notices
from gateway.errors import InvalidField

STARTS = "2026-12-07T23:20:01.123456789Z"
STARTS_MS = 1_796_685_601_123


def alert(**over: Any) -> dict[str, Any]:
    base = {"status": "firing", "fingerprint": "5f0b2a1c9d3e4f60", "startsAt": STARTS,
            "endsAt": "0001-01-01T00:00:00Z",
            "labels": {"alertname": "CircuitBreakerOpen", "severity": "page",
                       "channel_instance": "demo-clinic-wa-meta"},
            "annotations": {"summary": "The circuit is open"}}
    return base | over


def test_a_firing_alert_becomes_one_notice_in_the_keys_organization() -> None:
    [event] = notices({"version": "4", "alerts": [alert()]}, "demo-clinic")
    assert (event["type"], event["reason"], event["organization_id"], event["recipient_id"]) == (
        "staff.attention_needed", "ops_alert", "demo-clinic", "operations")
    assert event["event_id"] == f"ops-alert:5f0b2a1c9d3e4f60:{STARTS_MS}:firing"
    assert event["occurred_at"] == STARTS_MS
    assert event["details"] == {"status": "firing", "starts_at": str(STARTS_MS), "fingerprint": "5f0b2a1c9d3e4f60",
                                "summary": "The circuit is open", "label.alertname": "CircuitBreakerOpen",
                                "label.severity": "page", "label.channel_instance": "demo-clinic-wa-meta"}


def test_a_repeat_of_the_same_alert_has_the_same_event_id_and_its_resolution_another() -> None:
    first = notices({"alerts": [alert()]}, "demo-clinic")[0]
    again = notices({"alerts": [alert()]}, "demo-clinic")[0]
    resolved = notices({"alerts": [alert(status="resolved", endsAt="2026-12-07T23:30:00Z")]}, "demo-clinic")[0]
    assert first == again
    assert resolved["reason"] == "ops_alert_resolved" and resolved["event_id"] != first["event_id"]
    assert resolved["occurred_at"] == 1_796_686_200_000


@pytest.mark.parametrize(("payload", "field"), [
    ([], "body"),
    ({}, "alerts"),
    ({"alerts": []}, "alerts"),
    ({"alerts": [alert() for _ in range(101)]}, "alerts"),
    ({"alerts": ["x"]}, "alerts[0]"),
    ({"alerts": [alert(status="pending")]}, "alerts[0].status"),
    ({"alerts": [alert(labels={"severity": "page"})]}, "alerts[0].labels.alertname"),
    ({"alerts": [alert(labels={"alertname": 3})]}, "alerts[0].labels.alertname"),
    ({"alerts": [alert(labels="x")]}, "alerts[0].labels"),
    ({"alerts": [alert(fingerprint="../x")]}, "alerts[0].fingerprint"),
    ({"alerts": [alert(startsAt="yesterday")]}, "alerts[0].startsAt"),
    ({"alerts": [alert(status="resolved", endsAt=None)]}, "alerts[0].endsAt"),
], ids=["not_an_object", "no_alerts", "empty_alerts", "too_many_alerts", "alert_not_an_object", "unknown_status",
        "no_alertname", "label_not_a_string", "labels_not_an_object", "bad_fingerprint", "bad_start",
        "resolved_without_end"])
def test_a_body_that_is_not_alertmanagers_names_the_field(payload: Any, field: str) -> None:
    with pytest.raises(InvalidField) as caught:
        notices(payload, "demo-clinic")
    assert caught.value.field == field
