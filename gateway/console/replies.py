"""A staff reply and a resume, written from the conversation page as the API writes them.

A reply is a SendRequest built by the API's own code (gateway.validation.parse_send,
gateway.sends.build_record: the number canonicalized, PHI sealed, the pseudonym as key) with
`source: staff`, published through the process's one publisher and answered once Kafka acknowledged
it and its audit record (`console.reply`). The idempotency key comes from the form (a random token
the page put there), so a form sent twice is one message (the API's idempotency table); the stream
workers then apply consent, rate limits, quiet hours and the loop guard to it like to any send.

A resume is the CareEvent `POST /v1/conversations/{id}:resume` writes (gateway.conversations.command)
on `conversation.commands`, audited as `conversation.resume`.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.audit import ALLOWED, ERROR, Actor
from gateway.conversations import RESUME, command
from gateway.errors import spec_for
from gateway.idempotency import Accepted, Verdict, message_id_for
from gateway.sends import LABEL, build_record
from gateway.services import Services
from gateway.validation import parse_send
from schemas.errors import CarelayError

REPLY = "console.reply"
SOURCE = "staff"
KEY_PREFIX = "console-reply:"


def new_key() -> str:
    """The form's idempotency token: one per reply form shown."""
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Ask:
    """What the reply form asks to send."""

    key: str
    channels: tuple[str, ...]
    language: str
    text: str | None = None
    template: str | None = None
    params: tuple[tuple[str, str], ...] = ()

    def body(self, to: str, username: str) -> dict[str, Any]:
        """The API's send body for this reply (what parse_send validates)."""
        body: dict[str, Any] = {"to": to, "channels": list(self.channels), "priority": "normal",
                                "metadata": {"console_user": username}}
        if self.template is not None:
            body["template"] = {"name": self.template, "language": self.language, "params": dict(self.params)}
        else:
            body["text"], body["language"] = self.text, self.language
        return body


class ReplyRefused(Exception):
    """Why the reply was not published: a word key of conversation_words (`conv_err_*`) and the field."""

    def __init__(self, reason: str, field: str) -> None:
        super().__init__(reason)
        self.reason, self.field = reason, field


@dataclass(frozen=True)
class Sent:
    message_id: str
    recipient_id: str
    created_at_ms: int
    record: dict[str, Any]
    replayed: bool = False


async def send(svc: Services, actor: Actor, organization_id: str, recipient_id: str, to: str, ask: Ask,
               username: str, now_ms: int, remote: str | None) -> Sent:
    try:
        inp = parse_send(ask.body(to, username), now_ms=now_ms, catalog=svc.templates,
                         header_key=KEY_PREFIX + ask.key[:64], organization_id=organization_id)
    except CarelayError as exc:
        field = str(getattr(exc, "field", "") or "reply")
        raise ReplyRefused("params" if field.startswith("template") else "refused", field) from None
    fp = inp.fingerprint(svc.fingerprint_key)
    verdict, seen = svc.idempotency.check(organization_id, inp.idempotency_key, fp)
    if verdict is Verdict.REPLAY and seen is not None:  # the same form sent twice: one message
        return Sent(seen.message_id, recipient_id, seen.created_at_ms, {}, replayed=True)
    if verdict is Verdict.CONFLICT:
        raise ReplyRefused("already_sent", "text")
    if verdict is not Verdict.NEW:
        raise ReplyRefused("unavailable", "reply")
    message_id = message_id_for(organization_id, inp.idempotency_key)
    rid, record = build_record(svc, organization_id, inp, message_id, now_ms)
    if rid != recipient_id:  # the number opened is this patient's, or nothing is sent
        raise ReplyRefused("no_number", "reply")
    record["source"] = SOURCE
    topic = svc.topics.send_requests
    svc.idempotency.begin(organization_id, inp.idempotency_key, fp)
    details = {"recipient_id": rid, "kind": "template" if ask.template else "text",
               "template": ask.template or "", "channels": ",".join(ask.channels)}
    futures = [svc.publisher.submit(topic.name, rid, topic.codec.encode(record)),
               svc.auditor.submit(actor, REPLY, ALLOWED, resource=message_id, remote_addr=remote, details=details)]
    sent, _ = await svc.publisher.settle(futures, label=LABEL)
    if sent is not None:
        svc.idempotency.finish(organization_id, inp.idempotency_key, None)
        svc.metrics.sends("unavailable").inc()
        svc.auditor.fire(actor, REPLY, ERROR, resource=message_id, reason=spec_for(sent).code, remote_addr=remote)
        raise ReplyRefused("unavailable", "reply")
    svc.idempotency.finish(organization_id, inp.idempotency_key, Accepted(message_id, fp, organization_id, now_ms))
    svc.unseen.note(message_id, now_ms)
    svc.metrics.sends("accepted").inc()
    return Sent(message_id, rid, now_ms, record)


async def resume(svc: Services, actor: Actor, organization_id: str, recipient_id: str, now_ms: int,
                 remote: str | None) -> str:
    """The resume command, acknowledged by Kafka with its audit record; its id."""
    record = command(organization_id, recipient_id, actor.name, now_ms)
    topic = svc.topics.conversations
    futures = [svc.publisher.submit(topic.name, recipient_id, topic.codec.encode(record)),
               svc.auditor.submit(actor, RESUME, ALLOWED, resource=recipient_id, remote_addr=remote,
                                  details={"command_id": record["event_id"]})]
    failed = next((r for r in await svc.publisher.settle(futures, label="conversation") if r is not None), None)
    if failed is not None:
        svc.auditor.fire(actor, RESUME, ERROR, resource=recipient_id, reason=spec_for(failed).code,
                         remote_addr=remote)
        raise ReplyRefused("unavailable", "resume")
    return str(record["event_id"])


def params_of(raw: dict[str, Any] | None) -> dict[str, str]:
    """Template parameters as sealed JSON opened: a mapping of strings (anything else: nothing)."""
    if not isinstance(raw, dict):
        return {}
    return {str(k): str(v) for k, v in raw.items()}


def parse_params(text: str) -> dict[str, str]:
    try:
        return params_of(orjson.loads(text))
    except orjson.JSONDecodeError:
        return {}

