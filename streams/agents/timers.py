"""Periodic work on every worker, over the partitions it owns: delivery deadlines; re-issuing, shortly
after an assignment, the commands of messages that nothing touched since (streams.decide.recovery);
and the reconciliation sweep: poll the provider for messages it accepted but never finished, re-issue
commands that went missing, expire finished records, rebuild what memory derives from the table
(the deadline heap, the provider-id index), end messages still waiting past their expiry; and the
consumer-lag gauge."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from faust.types import TP

from streams import convert
from streams.agents.base import Handler
from streams.decide import lifecycle, recovery, urgent
from streams.decide import status as st
from streams.decide.records import Ledger, Message
from streams.partitioning import patient_of
from streams.runtime import Out, Runtime, unb64
from streams.tables import PatientTable, scan

log = logging.getLogger("carelay.streams.timers")
POLL_BATCH = 50       # provider polls per sweep (each is an HTTP call)


class Sweeper:
    def __init__(self, rt: Runtime, patients: PatientTable, messages: PatientTable,
                 owned: Callable[[], set[int]]) -> None:
        self.rt = rt
        self.messages = messages
        self.owned = owned
        self.outputs = Handler(rt, patients, messages)  # the agents' output path, for what the sweep ends
        self._assigned: tuple[int, frozenset[int]] | None = None  # (when, partitions) not yet checked

    def assigned(self, partitions: set[int]) -> None:
        """Partitions were assigned and their tables recovered: `recover` checks them after the quiet."""
        self._assigned = (self.rt.now(), frozenset(partitions))

    async def recover(self) -> int:
        """Once `recovery.QUIET_MS` passed since the last assignment: re-issue the commands of the
        messages nothing touched since (see streams.decide.recovery)."""
        rt = self.rt
        if self._assigned is None or rt.now() < self._assigned[0] + recovery.QUIET_MS:
            return 0
        since, parts = self._assigned
        self._assigned = None
        mine = self.owned() & parts
        out = Out()
        async for key, msg in scan(self.messages.data):
            if (isinstance(msg, Message) and rt.partition(patient_of(key)) in mine
                    and recovery.reissue_after_assignment(msg, since)):
                self._reissue(out, msg)
        await rt.emit(out)
        if out.records:
            log.info("re-issued %d dispatch commands untouched since the assignment", len(out.records))
        return len(out.records)

    def _reissue(self, out: Out, msg: Message) -> None:
        # the ledger makes a second command safe (streams.decide.dispatch.screen)
        assert msg.command is not None
        out.raw(self.rt.catalog.dispatch.name, msg.recipient_id.encode(), unb64(msg.command),
                self.rt.partition(msg.recipient_id))

    async def fire_deadlines(self) -> int:
        """Hops whose deadline passed without delivery: our clock's `expired` event goes to the
        reconciler like any provider status (it decides: fall back, or nothing when no channel is left).
        Urgent notices delivered but unread when their time to read is up: our clock's `unread` event
        (the reconciler decides on the call, streams.decide.urgent)."""
        rt = self.rt
        now = rt.now()
        due = rt.deadlines.due(now)
        if not due:
            return 0
        mine = self.owned()
        out = Out()
        for key, hop_number in due:
            msg = self.messages.data.get(key)
            if not isinstance(msg, Message) or rt.partition(patient_of(key)) not in mine:
                continue
            hop = msg.current
            if hop is None or hop.hop != hop_number:
                continue
            call_at = urgent.call_due_ms(msg)
            if call_at is not None and call_at > now:  # a delivery deadline popped first: look again then
                rt.deadlines.arm(call_at, key, hop_number)
            elif call_at is not None:
                out.add(rt.catalog.provider_status, msg.recipient_id.encode(), convert.unread_status(msg, hop, now),
                        rt.partition(msg.recipient_id))
            elif not (msg.reached or msg.is_final or hop.status in st.FAILURES):
                out.add(rt.catalog.provider_status, msg.recipient_id.encode(), convert.deadline_status(msg, hop, now),
                        rt.partition(msg.recipient_id))
        fired = len(out.records)
        await rt.emit(out)
        return fired

    async def sweep(self) -> dict[str, int]:
        rt = self.rt
        now = rt.now()
        cfg = rt.config
        mine = self.owned()
        out = Out()
        polls: list[Message] = []
        expired: dict[str, Any] = {}
        counts = {"scanned": 0, "expired": 0, "polled": 0, "reissued": 0, "ended_waiting": 0}
        overdue: list[Message] = []
        async for key, msg in scan(self.messages.data):
            if not isinstance(msg, Message) or rt.partition(patient_of(key)) not in mine:
                continue
            counts["scanned"] += 1
            call_at = urgent.call_due_ms(msg)
            if call_at is not None and msg.current is not None:
                rt.deadlines.arm(call_at, key, msg.current.hop)
            # delivered (final, or an urgent notice waiting for its time to read): nothing to poll;
            # a delivered notice's call still goes on below
            if (msg.is_final or msg.reached) and not urgent.calling(msg):
                stale = msg.final_at_ms is not None and now - msg.final_at_ms > cfg.message_retention_ms
                if stale and call_at is None:
                    expired[key] = None
                    for h in msg.hops:
                        rt.provider_index.pop(h.provider_message_id or "", None)
                continue
            if lifecycle.expired_while_waiting(msg, now):
                overdue.append(msg)
                continue
            for h in msg.hops:
                if h.provider_message_id:
                    rt.provider_index.setdefault(h.provider_message_id, key)
            hop = msg.current
            if hop is None:
                continue
            if not msg.reached and hop.status not in st.FAILURES:
                rt.deadlines.arm(hop.deadline_ms, key, hop.hop)
            quiet = now - max(msg.updated_at_ms, hop.routed_at_ms)
            if hop.ledger is Ledger.ACCEPTED and hop.provider_message_id and quiet > cfg.reconcile_stuck_ms:
                if len(polls) < POLL_BATCH:
                    polls.append(msg)
            elif hop.ledger is not Ledger.ACCEPTED and msg.command is not None and quiet > self._lost_after(hop.ledger):
                self._reissue(out, msg)  # the command (or its parked retry) went missing
                counts["reissued"] += 1
        for msg in polls:
            record = await self.poll(msg, now)
            if record is not None:
                out.add(rt.catalog.provider_status, msg.recipient_id.encode(), record, rt.partition(msg.recipient_id))
                counts["polled"] += 1
        await rt.emit(out)
        for key in expired:
            self.messages.data.pop(key, None)
        await self.messages.write(rt.send_all, expired)
        counts["expired"] = len(expired)
        counts["ended_waiting"] = await self.end_overdue(overdue)
        return counts

    async def end_overdue(self, overdue: list[Message]) -> int:
        """Messages still waiting past their `expires_at` (held, scheduled, queued, retrying) end
        `expired` here, whenever their parked record would have come back."""
        if not overdue:
            return 0
        now = self.rt.now()
        view, out = self.outputs.view(), Out()
        ended = 0
        for stale in overdue:
            msg = view.message(stale.recipient_id, stale.message_id)  # an agent may have moved it since
            if msg is None or not lifecycle.expired_while_waiting(msg, now):
                continue
            msg, outs = lifecycle.finish(msg, "expired", now, "expired_while_waiting")
            view.put_message(msg)
            patient = view.patient(msg.recipient_id)
            if (left := patient.drop_pending(msg.message_id)) is not patient:
                view.put_patient(msg.recipient_id, left)
            self.outputs.outcomes(outs, msg, out)
            ended += 1
        await self.outputs.complete(view, out)
        return ended

    def _lost_after(self, ledger: Ledger) -> int:
        policy = self.rt.config.policy
        if ledger is Ledger.IN_FLIGHT:
            return 2 * policy.in_doubt_grace_ms + 60_000
        return max(self.rt.config.reconcile_stuck_ms, policy.retry.cap_ms + 60_000)

    async def poll(self, msg: Message, now: int) -> dict[str, Any] | None:
        rt = self.rt
        hop = msg.current
        assert hop is not None and hop.provider_message_id is not None
        if rt.connectors is None:
            return None
        try:
            instance = rt.instance(hop.instance_id)
            fields = await rt.connectors.for_instance(instance).fetch_status(instance, hop.provider_message_id)
        except Exception as exc:  # the next sweep asks again
            log.info("poll of %s failed (%s)", hop.attempt_id, type(exc).__name__)
            return None
        return convert.poll_status(fields, msg, hop, now)


def update_lag(rt: Runtime, monitor: Any, assignment: set[TP]) -> None:
    committed = monitor.tp_committed_offsets or {}
    ends = monitor.tp_end_offsets or {}
    for tp in assignment:
        if tp in ends and tp in committed:
            rt.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, ends[tp] - committed[tp]))
