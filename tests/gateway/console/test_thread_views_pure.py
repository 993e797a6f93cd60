"""The conversation views' rules (gateway.console.thread_views), applied to records without Kafka."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.console.conversation import ConsentMark
from gateway.console.thread_views import ConsentView, InboundView, OutboundView, ResumeView

SEALED = {"kid": "k1", "nonce": b"n", "ciphertext": b"c"}


def inbound(event_id: str, at_ms: int, org: str | None = "org") -> dict[str, Any]:
    return {"event_id": event_id, "organization_id": org, "recipient_id": "rid", "channel": "WHATSAPP",
            "kind": "TEXT", "text": SEALED, "sender": SEALED, "payload": None,
            "received_at": datetime.fromtimestamp(at_ms / 1000, UTC)}


def outbound(message_id: str, at_ms: int, **extra: Any) -> dict[str, Any]:
    return {"message_id": message_id, "organization_id": "org", "recipient_id": "rid", "created_at": at_ms,
            "source": "staff", "automated_reply": False, "channels": ["WHATSAPP", "SMS"], "recipient": SEALED,
            "content": {"template": None, "language": "es", "params": None, "text": SEALED},
            "metadata": {"console_user": "alice"}, **extra}


def test_each_patients_newest_messages_are_kept_in_time_order_once_each_and_bounded():
    view = InboundView("unused:9092", "t", None, size=3)  # type: ignore[arg-type]
    for event_id, at in (("c", 3000), ("a", 1000), ("b", 2000), ("a", 1000), ("d", 4000)):
        view.apply(None, inbound(event_id, at))
    assert [m.event_id for m in view.of("org", "rid")] == ["b", "c", "d"]  # "a" dropped: oldest past 3
    assert view.of("other-org", "rid") == []


def test_an_inbound_message_no_clinic_claimed_is_in_no_thread():
    view = InboundView("unused:9092", "t", None)  # type: ignore[arg-type]
    view.apply(None, inbound("x", 1000, org=None))
    assert view.of("", "rid") == [] and view.of("org", "rid") == []


@pytest.mark.parametrize("content_text", [SEALED, ("io.carelay.Sealed", SEALED)],
                         ids=["decoded_from_kafka", "as_this_process_wrote_it"])
def test_an_outbound_message_keeps_its_sealed_content_and_who_sent_it(content_text):
    view = OutboundView("unused:9092", "t", None)  # type: ignore[arg-type]
    record = outbound("m1", 5000)
    record["content"] = {**record["content"], "text": content_text}
    view.apply(None, record)
    [m] = view.of("org", "rid")
    assert m.sealed_text == SEALED and m.staff == "alice" and m.channels == ("WHATSAPP", "SMS") and m.at_ms == 5000


def consent(channel: str, state: str, at_ms: int) -> dict[str, Any]:
    return {"organization_id": "org", "recipient_id": "rid", "channel": channel, "state": state, "source": "keyword",
            "occurred_at": at_ms}


def test_consent_keeps_the_newest_change_per_channel_and_a_tombstone_forgets_it():
    view = ConsentView("unused:9092", "t", None)  # type: ignore[arg-type]
    view.apply(None, consent("SMS", "OPTED_OUT", 2000))
    view.apply(None, consent("SMS", "OPTED_IN", 1000))  # older, late: ignored
    view.apply(None, consent("UNKNOWN", "OPTED_OUT", 3000))
    assert view.of("org", "rid") == {"SMS": ConsentMark("SMS", False, 2000, "keyword"),
                                     "UNKNOWN": ConsentMark("UNKNOWN", False, 3000, "keyword")}
    view.apply(b"org|rid|SMS", None)
    assert set(view.of("org", "rid")) == {"UNKNOWN"}


def test_the_newest_resume_per_patient_and_a_processs_own_note():
    view = ResumeView("unused:9092", "t", None)  # type: ignore[arg-type]
    base = {"organization_id": "org", "recipient_id": "rid"}
    view.apply(None, {**base, "type": "conversation.resume", "occurred_at": 2000})
    view.apply(None, {**base, "type": "conversation.resume", "occurred_at": 1000})
    view.apply(None, {**base, "type": "something.else", "occurred_at": 9000})
    assert view.resumed_at("org", "rid") == 2000
    view.note("org", "rid", 5000)
    assert view.resumed_at("org", "rid") == 5000 and view.resumed_at("other", "rid") is None
