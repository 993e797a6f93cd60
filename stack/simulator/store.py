"""What the simulator accepted: every message and call, so tests can count what reached a patient.

Held in memory only. It contains phone numbers and message bodies (this is test tooling), which is
why nothing here is ever logged.
"""
from __future__ import annotations

import base64
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any


def twilio_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def wamid() -> str:
    # real ids are "wamid." + base64 of a protobuf; the shape, not the content, is what matters
    return "wamid." + base64.b64encode(b"\x15\x02\x00\x11\x18\x12" + secrets.token_bytes(18)).decode()


def rfc2822(epoch_s: float | None) -> str | None:
    if epoch_s is None:
        return None
    return format_datetime(datetime.fromtimestamp(epoch_s, UTC), usegmt=False).replace("-0000", "+0000")


@dataclass
class Record:
    sid: str
    provider: str  # twilio, meta, d360
    channel: str  # SMS, WHATSAPP, VOICE
    kind: str  # text, template, interactive, content, call
    to: str  # E.164
    sender: str  # E.164 or phone_number_id
    created_at: float  # epoch seconds
    status: str
    body: str | None = None
    template: str | None = None
    language: str | None = None
    payloads: list[str] = field(default_factory=list)  # reply-button payloads we were asked to attach
    content_sid: str | None = None
    content_variables: str | None = None
    twiml: str | None = None
    callback_url: str | None = None
    org: str | None = None
    message_id: str | None = None
    attempt_id: str | None = None
    error_code: int | None = None
    sent_at: float | None = None
    updated_at: float | None = None
    history: list[str] = field(default_factory=list)
    messaging_service_sid: str | None = None  # Twilio: sent through this service (sender from its pool)

    def public(self) -> dict[str, Any]:
        return asdict(self)


class Store:
    def __init__(self) -> None:
        self._records: dict[str, Record] = {}

    def add(self, record: Record) -> Record:
        record.updated_at = record.created_at
        record.history.append(record.status)
        self._records[record.sid] = record
        return record

    def get(self, sid: str) -> Record | None:
        return self._records.get(sid)

    def update(self, sid: str, status: str, error_code: int | None = None) -> Record | None:
        record = self._records.get(sid)
        if record is None:
            return None
        record.status = status
        record.updated_at = time.time()
        record.history.append(status)
        if error_code is not None:
            record.error_code = error_code
        if status == "sent" and record.sent_at is None:
            record.sent_at = record.updated_at
        return record

    def all(self) -> list[Record]:
        return sorted(self._records.values(), key=lambda r: r.created_at)

    def find(self, *, to: str | None = None, attempt_id: str | None = None, message_id: str | None = None,
             provider: str | None = None, channel: str | None = None) -> list[Record]:
        return [r for r in self.all()
                if (to is None or r.to == to) and (attempt_id is None or r.attempt_id == attempt_id)
                and (message_id is None or r.message_id == message_id)
                and (provider is None or r.provider == provider) and (channel is None or r.channel == channel)]

    def clear(self) -> None:
        self._records.clear()
