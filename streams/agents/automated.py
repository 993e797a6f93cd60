"""Automated replies (HELP answers, clarifications, the AI agent's answers, holding messages) as the
SendRequests the inbound and AI agents write: one shape, so every path fills it alike."""
from __future__ import annotations

import json
from collections.abc import Mapping

from schemas.phi import Binding
from streams.runtime import Out, Runtime

REPLY_TTL_MS = 3_600_000


def automated_reply(rt: Runtime, out: Out, *, message_id: str, idempotency_key: str, org: str, rid: str,
                    to: str, channel: str, language: str, now: int, source: str,
                    template: str | None = None, params: Mapping[str, str] | None = None,
                    text: str | None = None, correlation_id: str | None = None,
                    metadata: Mapping[str, str] | None = None) -> None:
    """An automated answer in the conversation the patient wrote in (their channel), sent as a
    SendRequest like any other: dedup, consent, caps and the loop guard (automated_reply) all apply.
    `to` and `text` come opened and are sealed for this request (its message id); the caller derives
    the ids from what caused the reply."""
    seal, bound = rt.cipher.seal, Binding(org, message_id)
    request = {
        "message_id": message_id, "organization_id": org, "idempotency_key": idempotency_key,
        "recipient": seal("recipient", to, bound), "recipient_id": rid, "patient_ref": None, "recipient_name": None,
        "channels": [channel],
        "content": {"template": template, "language": language,
                    "params": seal("params", json.dumps(dict(params)), bound) if params is not None else None,
                    "text": seal("text", text, bound) if text is not None else None},
        # a reply the patient asked for: its own (urgent) budget, not the reminders' hourly cap
        "priority": "URGENT", "send_at": None, "expires_at": now + REPLY_TTL_MS, "correlation_id": correlation_id,
        "appointment_id": None, "created_at": now, "source": source, "automated_reply": True,
        "metadata": dict(metadata or {}),
    }
    out.add(rt.catalog.send_requests, rid.encode(), request, rt.partition(rid))
