"""One delivery record through an endpoint's lane: send it, hold it behind the endpoint's breaker or
backlog, retry it through the delay topics, or dead-letter it after 24 h; every step recorded on
`webhook.attempts`."""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx

from schemas import webhook_signature
from schemas.phi import Binding
from streams import convert
from streams.decide import webhooks as wh

if TYPE_CHECKING:
    from streams.webhooks.service import WebhookService

log = logging.getLogger("carelay.webhooks")

DELIVERED, FAILED, HELD, DEAD, SUPERSEDED, GONE = (
    "delivered", "failed", "held", "dead_lettered", "superseded", "endpoint_gone")


def _now() -> int:
    return int(time.time() * 1000)


async def handle(svc: WebhookService, endpoint_id: str, value: bytes) -> None:
    topic = svc.catalog.webhook_deliveries
    rec = topic.codec.decode(value)
    endpoint = svc.directory.endpoints.get(endpoint_id)
    now = _now()
    if endpoint is None:  # deleted since: nothing to send it to
        await _record(svc, rec, GONE, now)
        return
    target, secret = endpoint
    gate = svc.gates.get(endpoint_id, wh.Gate())
    step, gate = wh.admit(gate, bool(rec.get("parked")), now)
    svc.gates[endpoint_id] = gate
    if step is wh.Step.HOLD:
        await _hold(svc, rec, gate, now, HELD)
        return
    seen_key = (endpoint_id, rec["subject"])
    if rec["sequence"] and svc.delivered.get(seen_key, -1) > rec["sequence"]:
        await _record(svc, rec, SUPERSEDED, now)  # a newer state of the subject went out: never an older one after
        return
    body = svc.cipher.open("webhook_body", rec["body"], Binding(rec["organization_id"], rec["delivery_id"])).encode()
    headers = webhook_signature.headers(secret, rec["delivery_id"], now // 1000, body)
    headers["content-type"] = "application/json"
    status: int | None = None
    error: str | None = None
    started = time.monotonic()
    try:
        response = await svc.http.post(target.url, content=body, headers=headers)
        status = response.status_code
        if not wh.outcome_of_status(status):
            error = f"http_{status}"
    except httpx.TimeoutException:
        error = "timeout"
    except httpx.HTTPError as exc:
        error = type(exc).__name__.lower()
    took = int((time.monotonic() - started) * 1000)
    attempt = rec["attempt"] + 1
    now = _now()
    if error is None:
        svc.gates[endpoint_id] = wh.succeeded(svc.gates.get(endpoint_id, wh.Gate()))
        svc.delivered[seen_key] = max(rec["sequence"], svc.delivered.get(seen_key, -1))
        await _record(svc, rec, DELIVERED, now, attempt=attempt, status=status, took=took)
        return
    first_failed = convert.ms(rec.get("first_failed_at")) or now
    gate = wh.failed(svc.gates.get(endpoint_id, wh.Gate()), now)
    if wh.gives_up(first_failed, now, gate.open_until_ms - now):
        svc.gates[endpoint_id] = replace(gate, parked=gate.parked - 1)
        await _dead(svc, rec, now, attempt, status, error, took)
        return
    svc.gates[endpoint_id] = gate
    failed = {**rec, "attempt": attempt, "first_failed_at": first_failed}
    await _hold(svc, failed, gate, now, FAILED, status=status, error=error, took=took)


async def _hold(svc: WebhookService, rec: dict[str, Any], gate: wh.Gate, now: int, outcome: str, *,
                status: int | None = None, error: str | None = None, took: int = 0) -> None:
    """Park the record on the endpoint's delay step; the worker's forwarder sends it back when due."""
    deliveries = svc.catalog.webhook_deliveries
    due = wh.hold_due_ms(gate, now)
    key = rec["endpoint_id"].encode()
    value = deliveries.codec.encode({**rec, "parked": True})
    delay = svc.catalog.delay_topics()[gate.level]
    parked = delay.codec.encode(convert.delayed(deliveries.name, key, value, due, "webhook_retry", rec["attempt"]))
    await svc.sender.send([(delay.name, key, parked),
                           _attempt(svc, rec, outcome, now, attempt=rec["attempt"], status=status, error=error,
                                    took=took, next_at=due)])


async def _dead(svc: WebhookService, rec: dict[str, Any], now: int, attempt: int, status: int | None,
                error: str, took: int) -> None:
    """Past 24 h: a dead letter whose value is the delivery as new (attempts reset), so replaying it from
    the console puts it back on `webhook.deliveries` for a fresh day of tries."""
    deliveries = svc.catalog.webhook_deliveries
    fresh = deliveries.codec.encode({**rec, "attempt": 0, "first_failed_at": None, "parked": False})
    key = rec["endpoint_id"].encode()
    letter = convert.dead_letter(deliveries.name, 0, 0, key, fresh, "webhook_expired", now, detail=error,
                                 message_id=rec["delivery_id"])
    await svc.sender.send([(svc.catalog.dead_letter.name, key, svc.catalog.dead_letter.codec.encode(letter)),
                           _attempt(svc, rec, DEAD, now, attempt=attempt, status=status, error=error, took=took)])
    log.warning("webhook delivery dead-lettered after 24 h of failures: endpoint %s (%s)", rec["endpoint_id"], error)


async def _record(svc: WebhookService, rec: dict[str, Any], outcome: str, now: int, *, attempt: int = 0,
                  status: int | None = None, took: int = 0) -> None:
    await svc.sender.send([_attempt(svc, rec, outcome, now, attempt=attempt, status=status, took=took)])


def _attempt(svc: WebhookService, rec: dict[str, Any], outcome: str, now: int, *, attempt: int,
             status: int | None = None, error: str | None = None, took: int = 0,
             next_at: int | None = None) -> tuple[str, bytes | None, bytes]:
    topic = svc.catalog.webhook_attempts
    record = {"delivery_id": rec["delivery_id"], "endpoint_id": rec["endpoint_id"],
              "organization_id": rec["organization_id"], "event_type": rec["event_type"], "attempt": attempt,
              "outcome": outcome, "http_status": status, "error": error, "duration_ms": took,
              "next_attempt_at": next_at, "at": now}
    return topic.name, rec["endpoint_id"].encode(), topic.codec.encode(record)
