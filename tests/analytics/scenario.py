"""A deterministic traffic scenario: the records of every relevant topic, and the figures it must produce.

The expected figures are computed here from the plan itself (who was sent what, which hop delivered,
what it cost), never from the analytics rows, so the tests compare two independent computations.
Every sealed field wraps a known clear value (phone numbers, names, bodies) that must never be stored.
"""
from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.phi import PhiCipher, Pseudonymizer

CIPHER = PhiCipher([("t1", b"\x05" * 32)])
PSEUDO = Pseudonymizer(b"\x06" * 32)
ORGS = ("clinic-a", "clinic-b")
TEMPLATES = ("appointment_reminder", "lab_results_ready")
PLANS = ("read", "delivered", "fallback", "failed", "blocked")
PRICE = {"WHATSAPP": 4000, "SMS": 7900}  # micros USD: Twilio's reported price, the rate card's utility rate


def phone(i: int) -> str:
    return f"+52155{i:08d}"


def body(i: int) -> str:
    return f"Hola paciente {i}, su resultado de biopsia esta listo"


def name(i: int) -> str:
    return f"Paciente Numero{i} Apellido"


@dataclass
class Scenario:
    start: datetime
    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (value type, record)
    clear_phi: set[str] = field(default_factory=set)
    # expected figures
    # (org, channel) -> status -> message ids that reached it there
    outcomes: dict[tuple[str, str], dict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    final_failed: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    fallback: dict[str, tuple[int, int]] = field(default_factory=dict)  # org -> (dispatched, fell back)
    hops: Counter[tuple[str, int, str]] = field(default_factory=Counter)  # (org, hop, channel) -> delivered
    blocked: Counter[tuple[str, str]] = field(default_factory=Counter)  # (org, reason) -> messages
    opted_out: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    messaged: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    cost: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    latencies: dict[tuple[str, str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    appointments: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # org -> type -> appts
    staff: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # org -> reason -> notices
    inbound: Counter[str] = field(default_factory=Counter)
    messages: int = 0

    def rates(self, org: str, channel: str) -> dict[str, int]:
        """What outcomes_hourly must say for (org, channel): distinct messages per status class."""
        by = self.outcomes[(org, channel)]

        def union(*statuses: str) -> set[str]:
            return set().union(*(by.get(s, set()) for s in statuses))
        # every message's `accepted` has no channel yet: that row counts the messages that ended there
        counted = union(*(s for s in by if s != "accepted")) if channel == "UNKNOWN" else union(*by)
        return {
            "messages": len(counted),
            "attempted": len(union("queued", "sent", "delivered", "read", "failed", "undelivered", "expired")),
            "delivered": len(union("delivered", "read")), "read": len(union("read")),
            "failed": len(union("failed", "undelivered", "expired")),
            "failed_final": len(self.final_failed[(org, channel)]), "blocked": len(union("blocked")),
        }

    def of_type(self, value_type: str) -> list[dict[str, Any]]:
        return [rec for vt, rec in self.records if vt == value_type]


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass
class _Msg:
    mid: str
    org: str
    rid: str
    template: str
    accepted: datetime
    history: list[tuple[str, datetime, str, str | None]]

    def outcome_in(self, sc: Scenario) -> Any:
        def outcome(status: str, at: datetime, channel: str, provider: str | None, hop: int, final: bool,
                    reason: str | None = None) -> None:
            sc.records.append(("DeliveryOutcome", {
                "event_id": f"{self.mid}:{status}:{hop}", "message_id": self.mid, "organization_id": self.org,
                "recipient_id": self.rid, "status": status, "previous_status": self.history[-1][0],
                "channel": channel, "provider": provider, "attempt_id": f"{self.mid}:{hop}" if provider else None,
                "hop": hop, "priority": "NORMAL", "template": self.template,
                "error_code": "30008" if status == "failed" else None, "reason": reason, "is_final": final,
                "occurred_at": _ms(at), "accepted_at": _ms(self.accepted),
            }))
            self.history.append((status, at, channel, provider))
            sc.outcomes[(self.org, channel)][status].add(self.mid)
            if status in ("sent", "delivered", "read"):
                sc.latencies[(self.org, channel, status)].append(_ms(at) - _ms(self.accepted))
        return outcome


def build(messages: int = 40, seed: int = 7, start: datetime | None = None, orgs: tuple[str, ...] = ORGS
          ) -> Scenario:
    rnd = random.Random(seed)
    sc = Scenario(start or datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2))
    sc.messages = messages
    dispatched: dict[str, set[str]] = defaultdict(set)
    fell_back: dict[str, set[str]] = defaultdict(set)
    for i in range(messages):
        org = orgs[i % len(orgs)]
        plan = PLANS[i % len(PLANS)]
        template = TEMPLATES[(i // len(PLANS)) % len(TEMPLATES)]
        first = "WHATSAPP" if i % 3 else "SMS"
        mid = f"00000000-0000-4000-8000-{i:012d}"
        rid = PSEUDO(org, phone(i))
        sc.clear_phi |= {phone(i), phone(i).lstrip("+"), body(i), name(i)}
        accepted = sc.start + timedelta(seconds=37 * i)
        sealed_to = CIPHER.seal("recipient", phone(i))
        content = {"template": template, "language": "es", "text": CIPHER.seal("text", body(i)),
                   "params": CIPHER.seal("params", json.dumps({"name": name(i), "body": body(i)}))}
        sc.records.append(("SendRequest", {
            "message_id": mid, "organization_id": org, "idempotency_key": f"k-{i}", "recipient": sealed_to,
            "recipient_id": rid, "patient_ref": CIPHER.seal("patient_ref", f"MRN-{i}"),
            "recipient_name": CIPHER.seal("recipient_name", name(i)),
            "channels": [first, "SMS" if first == "WHATSAPP" else "WHATSAPP"], "content": content,
            "priority": "NORMAL", "send_at": None, "expires_at": None, "correlation_id": None,
            "appointment_id": None, "created_at": _ms(accepted), "source": "gateway", "automated_reply": False,
            "metadata": {},
        }))
        sc.messaged[org].add(rid)
        history: list[tuple[str, datetime, str, str | None]] = [("accepted", accepted, "UNKNOWN", None)]

        msg = _Msg(mid, org, rid, template, accepted, history)
        outcome = msg.outcome_in(sc)

        if plan == "blocked":
            reason = "opted_out" if i % 2 else "rate_limited"
            outcome("blocked", accepted + timedelta(milliseconds=40), "UNKNOWN", None, 0, True, reason)
            sc.blocked[(org, reason)] += 1
        else:
            hops = [(first, 0)] + ([("SMS" if first == "WHATSAPP" else "WHATSAPP", 1)] if plan == "fallback" else [])
            t = accepted
            for channel, hop in hops:
                provider = "meta" if channel == "WHATSAPP" else "twilio"
                t += timedelta(milliseconds=rnd.randint(20, 200))
                sc.records.append(("DispatchCommand", {
                    "message_id": mid, "attempt_id": f"{mid}:{hop}", "hop": hop, "organization_id": org,
                    "recipient": sealed_to, "recipient_id": rid, "channel": channel, "provider": provider,
                    "channel_instance": f"demo-{provider}", "content": content, "use_template": True,
                    "priority": "NORMAL", "deadline": _ms(t + timedelta(hours=1)), "routed_at": _ms(t),
                    "reason": "first_choice" if hop == 0 else "fallback_permanent_failure",
                }))
                dispatched[org].add(mid)
                if hop:
                    fell_back[org].add(mid)
                pmid = f"{provider}-{i}-{hop}"
                # Meta bills most deliveries; one in five is free (pricing.billable false); Twilio does not say
                billable = None if provider == "twilio" else i % 5 != 0
                last = plan == "fallback" and hop == 0
                steps = ["sent", "failed"] if (last or plan == "failed") else (
                    ["sent", "delivered", "read"] if plan == "read" else ["sent", "delivered"])
                for status in steps:
                    t += timedelta(milliseconds=rnd.randint(100, 5000))
                    # Twilio's fetched resource prices a message on several events: count it once;
                    # Meta reports no amount: the rate card prices a delivered message by its category
                    priced = provider == "twilio" and status in ("sent", "delivered")
                    sc.records.append(("ProviderStatus", {
                        "event_id": f"{provider}:{pmid}:{status}", "provider": provider, "channel": channel,
                        "provider_message_id": pmid, "message_id": mid, "attempt_id": f"{mid}:{hop}",
                        "recipient_id": rid, "status": status, "provider_status": status,
                        "error_code": "30008" if status == "failed" else None,
                        "error_class": "fallback" if status == "failed" else None, "occurred_at": _ms(t),
                        "received_at": _ms(t), "billable": billable,
                        "price_micros": PRICE[channel] if priced else None,
                        "price_currency": "USD" if priced else None, "pricing_category": "utility",
                        "conversation_id": None,
                    }))
                    final = (status == "failed" and not last) or status == "read" or (
                        status == "delivered" and plan != "read")
                    outcome(status, t, channel, provider, hop, final)
                    if status == "failed" and final:
                        sc.final_failed[(org, channel)].add(mid)
                delivered = "delivered" in steps
                if provider == "twilio" or delivered:  # reported, or the rate card (Meta; 0 when not billable)
                    sc.cost[(org, channel)][0] += PRICE[channel] if provider == "twilio" or billable else 0
                    sc.cost[(org, channel)][1] += int(delivered)
                if delivered:
                    sc.hops[(org, hop, channel)] += 1
        entries = [{"status": s, "at": _ms(at), "channel": c, "provider": p, "attempt_id": None,
                    "error_code": None, "source": "pipeline"} for s, at, c, p in history]
        last_status, last_at, last_channel, last_provider = history[-1]
        sc.records.append(("MessageState", {
            "message_id": mid, "organization_id": org, "recipient_id": rid, "status": last_status,
            "channel": last_channel, "provider": last_provider, "provider_message_id": None,
            "hop": 1 if plan == "fallback" else 0, "is_final": True, "created_at": _ms(accepted),
            "updated_at": _ms(last_at), "history": entries,
        }))
        if i % 4 == 1:  # the patient writes back
            at = accepted + timedelta(minutes=3)
            sc.records.append(("InboundMessage", {
                "event_id": f"twilio:SMin{i}", "provider": "twilio", "channel": "SMS",
                "provider_message_id": f"SMin{i}", "organization_id": org, "recipient_id": rid,
                "sender": CIPHER.seal("sender", phone(i)), "to_address": "+15005550006", "kind": "TEXT",
                "text": CIPHER.seal("text", body(i)), "payload": None, "context_provider_message_id": None,
                "received_at": _ms(at),
            }))
            sc.inbound[org] += 1
        if i % 6 == 2:
            sc.records.append(("ConsentChange", {
                "event_id": f"consent-{i}", "organization_id": org, "recipient_id": rid, "channel": "UNKNOWN",
                "state": "OPTED_OUT", "source": "keyword", "reason": "stop",
                "occurred_at": _ms(accepted + timedelta(minutes=4)),
            }))
            sc.opted_out[org].add(rid)
        if i % 5 in (0, 1):
            _answer(sc, i, org, rid, mid, accepted + timedelta(minutes=5))
    for org in orgs:
        sc.fallback[org] = (len(dispatched[org]), len(fell_back[org]))
    now = _ms(sc.start)
    sc.records += [
        ("CircuitEvent", {"event_id": "cb-1", "channel_instance": "demo-meta", "provider": "meta",
                          "channel": "WHATSAPP", "state": "open", "previous_state": "closed", "failures": 5,
                          "occurred_at": now}),
        ("CircuitEvent", {"event_id": "cb-2", "channel_instance": "demo-meta", "provider": "meta",
                          "channel": "WHATSAPP", "state": "half_open", "previous_state": "open", "failures": 0,
                          "occurred_at": now + 30_000}),
        ("AuditRecord", {"audit_id": "sig-1", "occurred_at": now, "actor": "twilio", "role": None,
                         "organization_id": None, "action": "webhook.twilio", "resource": "/webhooks/twilio",
                         "outcome": "rejected", "reason": "bad_signature", "remote_addr": "127.0.0.1",
                         "details": {}}),
        ("DeadLetter", {"source_topic": "carelay.send.requests", "source_partition": 0, "source_offset": 99,
                        "key": None, "value": b"\x00garbage", "reason": "undecodable", "detail": "bad magic byte",
                        "message_id": None, "failed_at": now}),
    ]
    return sc


def _answer(sc: Scenario, i: int, org: str, rid: str, mid: str, at: datetime) -> None:
    """The patient answers the reminder as the inbound agent records it: an audit record
    (`appointment.confirm` / `.cancel`), a CareEvent on appointment.events, and for a cancellation a
    staff.attention_needed with the patient's words sealed. Every tenth patient taps confirm twice."""
    action, kind = ("confirm", "appointment.confirmed") if i % 5 == 0 else ("cancel", "appointment.cancel_requested")
    taps = 2 if i % 10 == 0 else 1
    for tap in range(taps):
        inbound = f"meta:wamid.in{i}.{tap}"
        when = _ms(at) + tap * 1000
        sc.records.append(("AuditRecord", {
            "audit_id": f"appt-{i}-{tap}", "occurred_at": when, "actor": "workflow", "role": None,
            "organization_id": org, "action": f"appointment.{action}", "resource": mid, "outcome": "allowed",
            "reason": None, "remote_addr": None, "details": {"channel": "WHATSAPP", "recipient_id": rid},
        }))
        common = {"organization_id": org, "recipient_id": rid, "appointment_id": f"appt-{i}", "message_id": mid,
                  "channel": "WHATSAPP", "language": "es", "correlation_id": None, "occurred_at": when,
                  "details": {"inbound_event_id": inbound}}
        sc.records.append(("CareEvent", common | {"event_id": f"{inbound}:{kind}", "type": kind, "reason": None,
                                                  "text": None}))
        if action == "cancel":
            sc.records.append(("CareEvent", common | {
                "event_id": f"{inbound}:staff.attention_needed", "type": "staff.attention_needed",
                "reason": "cancel_requested", "text": CIPHER.seal("text", body(i))}))
            sc.staff[org]["cancel_requested"] += 1
    sc.appointments[org][kind] += 1  # once per appointment, however often the patient tapped


def interpolated_quantile(values: list[int], q: float) -> float:
    """Linear interpolation between closest ranks: what ClickHouse's `quantiles` returns on small samples."""
    data = sorted(values)
    pos = q * (len(data) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)
