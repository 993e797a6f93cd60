"""Dispatcher agent (dispatch.commands): the ledger, the circuit breakers and the provider calls.

Per batch: screen every command and record the calls as IN_FLIGHT; make those records durable;
call the providers concurrently; then record what each call did (accepted, retry later, in doubt,
fall back, give up). The provider call is the one side effect Kafka cannot undo, so nothing is
called before its IN_FLIGHT record is acknowledged by the broker (see streams.decide.dispatch).
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from faust.types import EventT

from connectors.base import ChannelInstance, Connector, OutboundMessage, SendResult
from connectors.errors import ProviderError
from connectors.factory import capabilities
from streams.agents.base import Handler, View
from streams.convert import circuit_event
from streams.decide import dispatch, lifecycle
from streams.decide.dispatch import After, AfterFailure, Failure, Screen
from streams.runtime import Out

log = logging.getLogger("carelay.streams.dispatcher")


@dataclass
class Call:
    event: EventT
    cmd: dict[str, Any]
    rid: str
    message_id: str
    hop: int
    instance: ChannelInstance
    connector: Connector
    outbound: OutboundMessage
    lookup_since_ms: int | None  # in doubt: look it up first
    may_resend: bool = True      # after a lookup that finds nothing: the patient still consents


@dataclass
class Result:
    call: Call
    sent: SendResult | None = None
    found: bool = False           # the in-doubt lookup found it: no call was made
    blocked: bool = False         # lookup found nothing, but the circuit refused the call
    withdrawn: bool = False       # lookup found nothing, and the patient opted out meanwhile
    error: ProviderError | None = None
    crash: str | None = None      # a connector bug: its exception type


class Dispatcher(Handler):
    name = "dispatcher"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # HTTP client pools get slow (quadratic bookkeeping) with hundreds of requests queued at once
        self._calls = asyncio.Semaphore(self.rt.config.call_concurrency)

    async def handle(self, events: Any) -> None:
        self.observe(events)
        view, out = self.view(), Out()
        calls: dict[str, Call] = {}
        for event in events:
            call = self.screen(event, view, out)
            if call is not None and call.outbound.attempt_id not in calls:
                calls[call.outbound.attempt_id] = call
        await self.complete(view, out)  # the IN_FLIGHT records are stored: the calls may go out
        if not calls:
            return
        results = await asyncio.gather(*(self.call(c) for c in calls.values()))
        view, out = self.view(), Out()
        for result in results:
            self.record(result, view, out)
        self.circuit_events(out)
        await self.complete(view, out)

    # -- before the calls --------------------------------------------------------------------
    def screen(self, event: EventT, view: View, out: Out) -> Call | None:
        rt = self.rt
        cmd = self.patient_record(rt.catalog.dispatch, event, out)
        if cmd is None:
            return None
        rid = cmd["recipient_id"]
        now = rt.now()
        msg = view.message(rid, cmd["message_id"])
        caps = capabilities(cmd["provider"])
        grace = 0 if caps.resend_harmless else rt.config.policy.in_doubt_grace_ms
        s = dispatch.screen(msg, cmd["hop"], now, can_lookup=caps.can_lookup, grace_ms=grace)
        rt.metrics.decide(self.name, s.reason)
        if s.action is Screen.SKIP:
            if s.reason == "unknown_message":
                self.dead(event, "unknown_message", out, message_id=cmd["message_id"])
            return None
        assert msg is not None and s.hop is not None
        hop = s.hop
        if s.action is Screen.EXPIRE:
            msg, outs = lifecycle.finish(msg, "expired", now, "message_expired")
            view.put_message(msg)
            self.outcomes(outs, msg, out)
            return None
        if s.action is Screen.WAIT and s.due_ms is not None:
            view.put_message(msg.with_hop(hop))  # remembers when the doubt was first seen
            self.park(out, rt.catalog.dispatch, rid, event.value, s.due_ms, "in_doubt", hop.tries)
            return None
        try:
            instance = rt.instance(hop.instance_id)
            connector = self._connector(instance)
            outbound = rt.outbound(cmd, msg.asks)
        except Exception as exc:  # unknown instance or unreadable PHI: this command can never be sent
            self.dead(event, "undeliverable_command", out, detail=type(exc).__name__, message_id=msg.message_id)
            self.ended(dispatch.failed(msg, hop, Failure("final", "config"), view.patient(rid), rt.world(now), 0.0),
                       cmd, event, view, out)
            return None
        patient = view.patient(rid)
        if s.action is Screen.LOOKUP:
            return Call(event, cmd, rid, msg.message_id, hop.hop, instance, connector, outbound,
                        hop.in_flight_since_ms or now, dispatch.consented(msg, patient, hop.channel))
        if not dispatch.consented(msg, patient, hop.channel):
            self.ended(dispatch.consent_withdrawn(msg, hop, patient, rt.world(now)), cmd, event, view, out)
            return None
        if not rt.breakers.allow(instance.id):
            blocked = dispatch.circuit_blocked(msg, hop, patient, rt.world(now), rt.breakers.reopens_at(instance.id))
            self.ended(blocked, cmd, event, view, out)
            return None
        view.put_message(dispatch.mark_in_flight(msg, hop, now))
        return Call(event, cmd, rid, msg.message_id, hop.hop, instance, connector, outbound, None)

    def _connector(self, instance: ChannelInstance) -> Connector:
        assert self.rt.connectors is not None
        return self.rt.connectors.for_instance(instance)

    # -- the calls ---------------------------------------------------------------------------
    async def call(self, c: Call) -> Result:
        async with self._calls:
            return await self._call(c)

    async def _call(self, c: Call) -> Result:
        rt = self.rt
        provider = c.instance.provider
        try:
            if c.lookup_since_ms is not None:
                found = await c.connector.find_sent(c.instance, c.outbound, c.lookup_since_ms)
                if found is not None:
                    rt.metrics.provider_calls.labels(provider, "found_in_doubt").inc()
                    return Result(c, found, found=True)
                # not there: the crash came before the request reached the provider
                rt.metrics.provider_calls.labels(provider, "not_found_in_doubt").inc()
                if not c.may_resend:
                    return Result(c, withdrawn=True)
                if not rt.breakers.allow(c.instance.id):
                    return Result(c, blocked=True)
            started = time.perf_counter()
            sent = await c.connector.send(c.instance, c.outbound)
            rt.metrics.call_seconds.labels(provider).observe(time.perf_counter() - started)
            rt.metrics.provider_calls.labels(provider, "accepted").inc()
            return Result(c, sent)
        except ProviderError as exc:
            rt.metrics.provider_calls.labels(provider, exc.kind).inc()
            return Result(c, error=exc)
        except Exception as exc:  # a connector bug must not take the worker down with the batch
            rt.metrics.provider_calls.labels(provider, "crash").inc()
            log.exception("connector %s crashed (%s)", provider, type(exc).__name__)
            return Result(c, crash=type(exc).__name__)

    # -- after the calls ---------------------------------------------------------------------
    def record(self, r: Result, view: View, out: Out) -> None:
        rt = self.rt
        c = r.call
        now = rt.now()
        msg = view.message(c.rid, c.message_id)  # fresh: a callback may have arrived during the call
        hop = msg.hop(c.hop) if msg is not None else None
        if msg is None or hop is None:
            return
        patient = view.patient(c.rid)
        world = rt.world(now)
        if r.sent is not None:
            if not r.found:
                rt.breakers.success(c.instance.id)
                rt.remember_sent(c.rid, c.outbound, now)
            msg, outs = dispatch.accepted(msg, hop, r.sent.provider_message_id, r.sent.status, now,
                                          source="lookup" if r.found else "provider")
            view.put_message(msg)
            rt.provider_index[r.sent.provider_message_id] = f"{c.rid}|{msg.message_id}"
            self.outcomes(outs, msg, out)
            return
        if r.blocked:
            blocked = dispatch.circuit_blocked(msg, hop, patient, world, rt.breakers.reopens_at(c.instance.id))
            self.ended(blocked, c.cmd, c.event, view, out)
            return
        if r.withdrawn:
            self.ended(dispatch.consent_withdrawn(msg, hop, patient, world), c.cmd, c.event, view, out)
            return
        if r.crash is not None:
            self.dead(c.event, "connector_error", out, detail=r.crash, message_id=msg.message_id)
            self.ended(dispatch.failed(msg, hop, Failure("final", "connector_error"), patient, world, 0.0),
                       c.cmd, c.event, view, out)
            return
        exc = r.error
        assert exc is not None
        if exc.opens_circuit:
            rt.breakers.failure(c.instance.id, force_open=True)
        elif exc.kind == "retryable":  # transport, 5xx, timeouts (in doubt too); not 429, not bad numbers
            rt.breakers.failure(c.instance.id)
        if capabilities(c.instance.provider).is_opt_out(exc.code):
            self.consent(view, out, msg.organization_id, c.rid, hop.channel, False, "provider", "provider_opt_out",
                         now)
            patient = view.patient(c.rid)
        failure = Failure(exc.kind, exc.code, exc.retry_after, exc.in_doubt, exc.opens_circuit)
        self.ended(dispatch.failed(msg, hop, failure, patient, world, rt.rand.random()), c.cmd, c.event, view, out)

    def ended(self, a: AfterFailure, cmd: dict[str, Any], event: EventT, view: View, out: Out) -> None:
        """Carry out what a failure decision says: park the command, or end the hop."""
        rt = self.rt
        msg = a.message
        rid = msg.recipient_id
        rt.metrics.decide(self.name, a.reason)
        if a.action in (After.RETRY, After.IN_DOUBT):
            hop = msg.hop(cmd["hop"])
            if a.action is After.RETRY:
                rt.metrics.retries.labels(cmd["channel"], a.reason).inc()
            reason = "retry" if a.action is After.RETRY else "in_doubt"
            self.park(out, rt.catalog.dispatch, rid, event.value, rt.now() + a.delay_ms, reason,
                      hop.tries if hop else 0)
            view.put_message(msg)
            return
        assert a.end is not None
        self.outcomes(a.end.outcomes, msg, out)
        if a.end.next_hop is not None:
            msg = self.dispatch_hop(out, msg, a.end.next_hop, cmd)
        elif a.reason == "retries_exhausted":
            self.dead(event, "retries_exhausted", out, message_id=msg.message_id)
        view.put_message(msg)

    def circuit_events(self, out: Out) -> None:
        rt = self.rt
        for moved in rt.breakers.take_moves():
            inst = rt.instance(moved.instance_id)
            log.warning("circuit %s: %s -> %s", moved.instance_id, moved.transition.previous.value,
                        moved.transition.state.value)
            out.add(rt.catalog.circuit, moved.instance_id.encode(),
                    circuit_event(moved.instance_id, inst.provider, inst.channel, moved.transition, rt.now()), None)

