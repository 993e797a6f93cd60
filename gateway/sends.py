"""POST /v1/messages and /v1/messages:batch: validate, seal, publish a SendRequest, answer after the ack.

The answer is 202 {message_id} only once the broker acknowledged the SendRequest (acks=all). A
repeated idempotency key answers the original id and publishes nothing; the same key with another
body is a 409. Batch items succeed or fail on their own.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from access.keys import Action, ApiKey
from gateway.audit import ALLOWED, ERROR, REJECTED, Actor
from gateway.body import parse_json, read_body
from gateway.errors import (
    CarelayError,
    GatewayError,
    IdempotencyConflict,
    MalformedBody,
    TooManyItems,
    Unavailable,
    error_body,
    error_response,
    spec_for,
)
from gateway.idempotency import Accepted, Verdict, message_id_for
from gateway.services import Services, guard, remote_addr, services
from gateway.validation import SendInput, parse_send
from schemas.phi import Binding, Sealed

SEND = Action.SEND.value
BATCH = "message.send_batch"
LABEL = "send.requests"


# fastavro's tuple notation names the union branch of an optional sealed field, so the writer does
# not have to test the value against each branch: it halves the encoding time of a SendRequest.
SEALED = "io.carelay.Sealed"


def _branch(sealed: Sealed | None) -> tuple[str, Sealed] | None:
    return None if sealed is None else (SEALED, sealed)


def build_record(svc: Services, organization_id: str, inp: SendInput, message_id: str,
                 now_ms: int) -> tuple[str, dict[str, Any]]:
    """The SendRequest (PHI sealed) and its key, the recipient pseudonym."""
    bound = Binding(organization_id, message_id)  # schemas.phi.RECORD_IDS: a SendRequest's message id

    def seal(field: str, value: str) -> Sealed:
        return svc.cipher.seal(field, value, bound)

    def seal_opt(field: str, value: str | None) -> Sealed | None:
        return svc.cipher.seal_optional(field, value, bound)

    recipient_id = svc.pseudonymize(organization_id, inp.to)
    params = seal("params", orjson.dumps(dict(inp.params)).decode()) if inp.template is not None else None
    return recipient_id, {
        "message_id": message_id,
        "organization_id": organization_id,
        "idempotency_key": inp.idempotency_key,
        "recipient": seal("recipient", inp.to),
        "recipient_id": recipient_id,
        "patient_ref": _branch(seal_opt("patient_ref", inp.patient_ref)),
        "recipient_name": _branch(seal_opt("recipient_name", inp.recipient_name)),
        "channels": list(inp.channels),
        "content": {"template": inp.template, "language": inp.language, "params": _branch(params),
                    "text": _branch(seal_opt("text", inp.text))},
        "priority": inp.priority.upper(),
        "send_at": inp.send_at_ms,
        "expires_at": inp.expires_at_ms,
        "correlation_id": inp.correlation_id,
        "appointment_id": inp.appointment_id,
        "created_at": now_ms,
        "source": "gateway",
        "automated_reply": False,
        "metadata": dict(inp.metadata),
        "timezone": inp.timezone,
    }


@dataclass
class _Pending:
    """One send being published: its record future and the audit record's future."""

    inp: SendInput
    message_id: str
    fingerprint: bytes
    created_at_ms: int
    futures: list[asyncio.Future[None]]


class _Sender:
    """The shared logic of single and batch sends for one authenticated request."""

    def __init__(self, request: Request, key: ApiKey) -> None:
        self.svc = services(request)
        self.key = key
        self.actor = Actor.of(key)
        self.remote = remote_addr(request)
        self.org = key.organization_id

    def audit_fire(self, outcome: str, *, resource: str | None = None, reason: str | None = None,
                   field: str | None = None) -> None:
        details = {"field": field} if field else None
        self.svc.auditor.fire(self.actor, SEND, outcome, resource=resource, reason=reason, remote_addr=self.remote,
                              details=details)

    def rejected(self, exc: BaseException) -> None:
        self.svc.metrics.sends("rejected").inc()
        self.audit_fire(REJECTED, reason=spec_for(exc).code, field=getattr(exc, "field", None))

    def classify(self, inp: SendInput) -> tuple[Verdict, Accepted | None, bytes]:
        fp = inp.fingerprint(self.svc.fingerprint_key)
        verdict, seen = self.svc.idempotency.check(self.org, inp.idempotency_key, fp)
        return verdict, seen, fp

    def start(self, inp: SendInput, fp: bytes, now_ms: int, *, audit: bool = True) -> _Pending:
        """Publish the SendRequest (and, for a single send, its audit record) without waiting."""
        svc = self.svc
        message_id = message_id_for(self.org, inp.idempotency_key)
        recipient_id, record = build_record(svc, self.org, inp, message_id, now_ms)
        topic = svc.topics.send_requests
        svc.idempotency.begin(self.org, inp.idempotency_key, fp)
        futures = [svc.publisher.submit(topic.name, recipient_id, topic.codec.encode(record))]
        if audit:
            futures.append(svc.auditor.submit(self.actor, SEND, ALLOWED, resource=message_id,
                                              remote_addr=self.remote))
        return _Pending(inp, message_id, fp, now_ms, futures)

    def finish(self, pending: _Pending, outcome: GatewayError | None) -> None:
        svc, key = self.svc, pending.inp.idempotency_key
        if outcome is None:
            svc.idempotency.finish(self.org, key, Accepted(pending.message_id, pending.fingerprint, self.org,
                                                           pending.created_at_ms))
            svc.unseen.note(pending.message_id, pending.created_at_ms)
            svc.metrics.sends("accepted").inc()
        else:
            svc.idempotency.finish(self.org, key, None)
            svc.metrics.sends("unavailable" if isinstance(outcome, Unavailable) else "rejected").inc()
            self.audit_fire(ERROR, resource=pending.message_id, reason=spec_for(outcome).code)

    def replayed(self, seen: Accepted) -> None:
        self.svc.metrics.sends("replayed").inc()
        self.audit_fire(ALLOWED, resource=seen.message_id, reason="idempotent_replay")

    def conflict(self, inp: SendInput, field: str = "idempotency_key", *, audit: bool = True) -> IdempotencyConflict:
        self.svc.metrics.sends("conflict").inc()
        if audit:
            self.audit_fire(REJECTED, resource=message_id_for(self.org, inp.idempotency_key),
                            reason="idempotency_conflict")
        return IdempotencyConflict("this idempotency key was used with a different body", field=field)

    async def wait_in_flight(self, inp: SendInput, deadline: float) -> None:
        """Another request of this process is publishing the same key: wait until it settles."""
        flying = self.svc.idempotency.in_flight(self.org, inp.idempotency_key)
        if flying is not None:
            remaining = max(0.0, deadline - asyncio.get_running_loop().time())
            await asyncio.wait([flying], timeout=remaining)


def _accepted_response(message_id: str, *, replayed: bool = False) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(orjson.dumps({"message_id": message_id, "status": "accepted"}), 202, headers,
                    media_type="application/json")


async def send_one(request: Request) -> Response:
    key = guard(request, Action.SEND)
    sender = _Sender(request, key)
    svc = sender.svc
    loop = asyncio.get_running_loop()
    deadline = loop.time() + svc.settings.kafka.send_timeout_s
    try:
        raw = await read_body(request, svc.settings.gateway.max_body_bytes)
        now_ms = int(time.time() * 1000)
        inp = parse_send(parse_json(raw), now_ms=now_ms, catalog=svc.templates,
                         header_key=request.headers.get("idempotency-key"), organization_id=key.organization_id)
    except CarelayError as exc:
        sender.rejected(exc)
        raise
    for _ in range(2):
        verdict, seen, fp = sender.classify(inp)
        if verdict is Verdict.REPLAY and seen is not None:
            sender.replayed(seen)
            return _accepted_response(seen.message_id, replayed=True)
        if verdict is Verdict.CONFLICT:
            raise sender.conflict(inp)
        if verdict is Verdict.NEW:
            break
        await sender.wait_in_flight(inp, deadline)
    else:
        raise Unavailable("a concurrent request with this idempotency key has not finished")
    pending = sender.start(inp, fp, now_ms)
    send_result, _audit_result = await svc.publisher.settle(pending.futures, label=LABEL, deadline=deadline)
    sender.finish(pending, send_result)
    if send_result is not None:
        raise send_result
    return _accepted_response(pending.message_id)


async def send_batch(request: Request) -> Response:
    """Items are validated and published independently; the batch leaves one audit record naming
    every message it published, and the rejections by reason."""
    key = guard(request, Action.SEND)
    sender = _Sender(request, key)
    svc = sender.svc
    limits = svc.settings.gateway
    deadline = asyncio.get_running_loop().time() + svc.settings.kafka.send_timeout_s
    try:
        raw = await read_body(request, limits.max_body_bytes)
        body = parse_json(raw)
        if not isinstance(body, dict) or not isinstance(body.get("items"), list) or set(body) != {"items"}:
            raise MalformedBody('the body must be {"items": [...]}')
        items = body["items"]
        if not items:
            raise TooManyItems("at least one item is required", field="items")
        if len(items) > limits.max_batch_items:
            raise TooManyItems(f"at most {limits.max_batch_items} items per batch", field="items")
    except CarelayError as exc:
        sender.rejected(exc)
        raise
    header_key = request.headers.get("idempotency-key")
    now_ms = int(time.time() * 1000)
    results: list[dict[str, Any] | None] = [None] * len(items)
    pending: dict[int, _Pending] = {}
    first_in_batch: dict[str, bytes] = {}
    reasons: Counter[str] = Counter()
    replayed = 0
    for i, item in enumerate(items):
        try:
            item_key = None if header_key is None else f"{header_key}/{i}"
            if isinstance(item, dict) and "idempotency_key" in item:
                item_key = None
            inp = parse_send(item, now_ms=now_ms, catalog=svc.templates, header_key=item_key,
                             prefix=f"items[{i}].", organization_id=sender.org)
            field = f"items[{i}].idempotency_key"
            twin = first_in_batch.get(inp.idempotency_key)
            verdict, seen, fp = sender.classify(inp)
            if twin is not None:  # the same key twice in one batch
                if twin != fp:
                    raise sender.conflict(inp, field, audit=False)
                results[i] = _item_ok(i, message_id_for(sender.org, inp.idempotency_key), replayed=True)
                replayed += 1
                continue
            if verdict is Verdict.IN_FLIGHT:
                await sender.wait_in_flight(inp, deadline)
                verdict, seen, fp = sender.classify(inp)
            if verdict is Verdict.CONFLICT:
                raise sender.conflict(inp, field, audit=False)
            if verdict is Verdict.REPLAY and seen is not None:
                results[i] = _item_ok(i, seen.message_id, replayed=True)
                replayed += 1
                continue
            if verdict is not Verdict.NEW:
                raise Unavailable("a concurrent request with this idempotency key has not finished")
            first_in_batch[inp.idempotency_key] = fp
            pending[i] = sender.start(inp, fp, now_ms, audit=False)
        except CarelayError as exc:
            reasons[spec_for(exc).code] += 1
            results[i] = _item_error(i, exc)
    if replayed:
        svc.metrics.sends("replayed").inc(replayed)
    rejected_early = sum(reasons.values())
    if rejected_early:
        svc.metrics.sends("rejected").inc(rejected_early)
    details = {"items": str(len(items)), "published": str(len(pending)), "replayed": str(replayed),
               "rejected": ",".join(f"{code}:{n}" for code, n in sorted(reasons.items())),
               "message_ids": ",".join(p.message_id for p in pending.values())}
    audit = svc.auditor.submit(sender.actor, BATCH, ALLOWED if pending or replayed else REJECTED,
                               resource=f"batch:{len(items)}", remote_addr=sender.remote, details=details)
    futures = [p.futures[0] for p in pending.values()]
    outcomes = await svc.publisher.settle([*futures, audit], label=LABEL, deadline=deadline)
    for (i, p), outcome in zip(pending.items(), outcomes, strict=False):
        sender.finish(p, outcome)
        results[i] = _item_error(i, outcome) if outcome is not None else _item_ok(i, p.message_id)
    accepted = sum(1 for r in results if r is not None and r["status"] == "accepted")
    unavailable = [o for o in outcomes[:-1] if isinstance(o, Unavailable)]
    if accepted == 0 and unavailable:
        return error_response(unavailable[0])
    doc = {"accepted": accepted, "rejected": len(items) - accepted, "results": results}
    return Response(orjson.dumps(doc), 200, media_type="application/json")


def _item_ok(index: int, message_id: str, *, replayed: bool = False) -> dict[str, Any]:
    return {"index": index, "message_id": message_id, "status": "accepted", "replayed": replayed}


def _item_error(index: int, exc: BaseException) -> dict[str, Any]:
    spec = spec_for(exc)
    body = error_body(spec.code, getattr(exc, "message", "rejected"), getattr(exc, "field", None))
    return {"index": index, "status": "rejected", "http_status": spec.status, **body}
