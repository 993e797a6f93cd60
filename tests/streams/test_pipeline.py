"""The stream worker end to end on the real broker: producer -> streams -> simulator (the providers,
with the real SDKs) -> gateway (signed webhooks) -> streams. The simulator's record of what it
accepted is what reached patients."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer

from schemas.settings import TwilioSettings
from streams.partitioning import partition_for

from .harness import ORG, Client, Proc, Stack, bot_until_paused, number, wait_until

SMS_FROM = TwilioSettings().sms_from


def of(records: list[dict[str, Any]], message_id: str, key: str = "status") -> list[Any]:
    return [r[key] for r in records if r["message_id"] == message_id]


def outcome(records: list[dict[str, Any]], message_id: str, status: str) -> dict[str, Any] | None:
    return next((r for r in records if r["message_id"] == message_id and r["status"] == status), None)


def test_a_reminder_goes_out_once_and_its_statuses_come_back(stack: Stack, client: Client, worker: Proc) -> None:
    to = number()
    req = client.request(to)
    outcomes = client.reader("outcomes")
    states = client.reader("message_state")
    client.send(req)
    seen = outcomes.wait(lambda rs: "read" in of(rs, req["message_id"]), 30, f"read\n{worker.tail()}")
    assert of(seen, req["message_id"]) == ["accepted", "routed", "queued", "sent", "delivered", "read"]
    assert len({r["event_id"] for r in seen if r["message_id"] == req["message_id"]}) == 6
    [sent] = stack.sent(to)
    assert (sent["provider"], sent["channel"], sent["kind"]) == ("meta", "WHATSAPP", "template")
    last = states.wait(lambda rs: any(r["message_id"] == req["message_id"] and r["status"] == "read" for r in rs),
                       10, "message state")
    state = [r for r in last if r["message_id"] == req["message_id"]][-1]
    assert state["is_final"] and [h["status"] for h in state["history"]] == of(seen, req["message_id"])
    outcomes.close()
    states.close()


def test_dedup_by_idempotency_key(stack: Stack, client: Client, worker: Proc) -> None:
    to = number()
    key = uuid.uuid4().hex
    first = client.request(to, idempotency_key=key)
    # the same body under another message id, sealed for that message (a copy of the first's sealed
    # fields would not open there: sealed values are bound to their message, schemas.phi)
    same_body = client.request(to, idempotency_key=key, message_id=str(uuid.uuid4()))
    other_body = client.request(to, idempotency_key=key, text="Otro texto", channels=("SMS",))
    outcomes = client.reader("outcomes")
    client.send(first, same_body, first)  # the first one twice: a redelivery
    client.send(other_body)
    seen = outcomes.wait(lambda rs: outcome(rs, other_body["message_id"], "failed")
                         and outcome(rs, first["message_id"], "delivered"), 30, f"dedup\n{worker.tail()}")
    assert outcome(seen, same_body["message_id"], "cancelled")["reason"] == "duplicate"
    assert outcome(seen, other_body["message_id"], "failed")["reason"] == "idempotency_conflict"
    assert of(seen, first["message_id"]).count("accepted") == 1
    assert len(stack.sent(to)) == 1


def test_records_keyed_with_another_partitioner_are_moved_to_the_patients_partition(
        stack: Stack, client: Client, worker: Proc) -> None:
    # librdkafka's default partitioner (CRC32) puts most keys on another partition than Kafka's murmur2
    crc = Producer({"bootstrap.servers": client.settings.kafka.bootstrap, "linger.ms": 1})
    requests = [client.request(number(), channels=("SMS",)) for _ in range(6)]
    outcomes = client.reader("outcomes")
    client.send(*requests, producer=crc)
    seen = outcomes.wait(lambda rs: all(outcome(rs, r["message_id"], "delivered") for r in requests), 30,
                         f"delivered\n{worker.tail()}")
    for r in requests:
        assert of(seen, r["message_id"]).count("accepted") == 1
        assert len(stack.sent(message_id=r["message_id"])) == 1
        assert {m[0] for m, rec in zip(outcomes.meta, seen, strict=True) if rec["message_id"] == r["message_id"]} == {
            partition_for(r["recipient_id"], client.settings.kafka.partitions)}


def test_cancelar_answers_an_open_reminder_and_is_not_an_opt_out(stack: Stack, client: Client,
                                                                  worker: Proc) -> None:
    to = number()
    rid = client.rid(to)
    reminder = client.request(to, channels=("SMS",))  # appointment_reminder asks confirm/cancel
    outcomes, audit, consent = client.reader("outcomes"), client.reader("audit"), client.reader("consent")
    client.send(reminder)
    outcomes.wait(lambda rs: outcome(rs, reminder["message_id"], "delivered"), 20, "reminder delivered")
    stack.patient_says(to, "Cancelar", to=SMS_FROM)
    found = audit.wait(lambda rs: any(r["action"] == "appointment.cancel" and r["resource"] == reminder["message_id"]
                                      for r in rs), 20, f"appointment answer\n{worker.tail()}")
    answer = next(r for r in found if r["action"] == "appointment.cancel" and r["resource"] == reminder["message_id"])
    assert answer["details"]["recipient_id"] == rid
    assert not [r for r in consent.poll(0.5) if r["recipient_id"] == rid]  # not an opt-out
    # without an open question the same word is an opt-out
    stack.patient_says(to, "CANCELAR", to=SMS_FROM)
    changes = consent.wait(lambda rs: any(r["recipient_id"] == rid for r in rs), 20, "opt-out")
    assert next(r for r in changes if r["recipient_id"] == rid)["state"] == "OPTED_OUT"


def test_a_consent_change_from_elsewhere_applies_to_later_sends(stack: Stack, client: Client, worker: Proc) -> None:
    to = number()
    rid = client.rid(to)
    change = {"event_id": str(uuid.uuid4()), "organization_id": ORG, "recipient_id": rid, "channel": "UNKNOWN",
              "state": "OPTED_OUT", "source": "api", "reason": None, "occurred_at": int(time.time() * 1000)}
    client.publish("consent", f"{ORG}|{rid}|UNKNOWN".encode(), change)  # keyed as the catalog says
    time.sleep(1.0)
    req = client.request(to)
    outcomes = client.reader("outcomes")
    client.send(req)
    seen = outcomes.wait(lambda rs: outcome(rs, req["message_id"], "blocked"), 20, f"blocked\n{worker.tail()}")
    assert outcome(seen, req["message_id"], "blocked")["reason"] == "blocked_no_consent"
    assert stack.sent(to) == []


def test_stop_opts_out_blocks_later_sends_and_cancels_pending_ones(stack: Stack, client: Client,
                                                                   worker: Proc) -> None:
    to = number()
    rid = client.rid(to)
    later = client.request(to, channels=("SMS",), send_at=int(time.time() * 1000) + 60_000)
    outcomes, consent = client.reader("outcomes"), client.reader("consent")
    client.send(later)
    outcomes.wait(lambda rs: outcome(rs, later["message_id"], "accepted"), 20, "scheduled request accepted")
    stack.patient_says(to, "¡Baja!", to=SMS_FROM)
    changes = consent.wait(lambda rs: any(r["recipient_id"] == rid for r in rs), 20, f"consent\n{worker.tail()}")
    change = next(r for r in changes if r["recipient_id"] == rid)
    # STOP on SMS opts out of every channel (streams.decide.inbound): no other channel may reach them
    assert (change["channel"], change["state"], change["source"], change["reason"]) == (
        "UNKNOWN", "OPTED_OUT", "keyword", "opt_out")
    cancelled = outcomes.wait(lambda rs: outcome(rs, later["message_id"], "cancelled"), 10, "pending cancelled")
    assert outcome(cancelled, later["message_id"], "cancelled")["reason"] == "opted_out"

    blocked = client.request(to, channels=("SMS",))
    elsewhere = client.request(to, channels=("SMS", "WHATSAPP"))
    client.send(blocked, elsewhere)
    seen = outcomes.wait(lambda rs: outcome(rs, blocked["message_id"], "blocked")
                         and outcome(rs, elsewhere["message_id"], "blocked"), 20, "after opt-out")
    assert outcome(seen, blocked["message_id"], "blocked")["reason"] == "blocked_no_consent"
    assert outcome(seen, elsewhere["message_id"], "blocked")["reason"] == "blocked_no_consent"
    # the patient is told once that nothing more will come, and nothing else goes out
    wait_until(lambda: stack.sent(to), 20, "the opt-out confirmation")
    assert [m["body"] for m in stack.sent(to)] == ["No recibira mas mensajes. Responda ALTA para volver a recibirlos."]


def test_recipient_cap_parks_the_fourth_message_and_scheduled_ones_wait(stack: Stack, client: Client,
                                                                        worker: Proc) -> None:
    to = number()
    normal = [client.request(to, channels=("SMS",)) for _ in range(4)]
    urgent = client.request(to, channels=("SMS",), priority="URGENT", template="urgent_notice",
                            params={"clinic": "Clinica Sur", "notice": "cerrado hoy"})
    outcomes = client.reader("outcomes")
    parked = client.reader_for(client.catalog.delay_topics()[3])  # 600 s: a 20 minute wait parks there
    sent_at = time.time()
    client.send(*normal, urgent)
    seen = outcomes.wait(lambda rs: sum(bool(outcome(rs, r["message_id"], "delivered")) for r in normal) == 3
                         and outcome(rs, urgent["message_id"], "delivered"), 30, f"three + urgent\n{worker.tail()}")
    fourth = normal[3]["message_id"]
    assert of(seen, fourth) == ["accepted"]
    delayed = parked.wait(lambda rs: any(r["reason"] == "rate_limited" for r in rs), 10, "parked request")
    record = next(r for r in delayed if r["reason"] == "rate_limited")
    assert record["target_topic"] == client.catalog.send_requests.name
    assert client.catalog.send_requests.codec.decode(record["value"])["message_id"] == fourth
    assert abs(record["due_at"] / 1000 - (sent_at + 1200)) < 60  # one token every 20 minutes
    assert len(stack.sent(to)) == 4

    scheduled_to = number()
    due = int(time.time() * 1000) + 3000
    scheduled = client.request(scheduled_to, channels=("SMS",), send_at=due)
    client.send(scheduled)
    outcomes.wait(lambda rs: outcome(rs, scheduled["message_id"], "delivered"), 30, "scheduled send")
    [sent] = stack.sent(scheduled_to)
    assert sent["created_at"] * 1000 >= due


def test_permanent_failure_falls_back_to_the_next_channel_after_the_first_failed(
        stack: Stack, client: Client, worker: Proc, scenario: Callable[[dict], None]) -> None:
    scenario({"rules": [{"provider": "meta", "to": "1026$", "code": 131026},
                        {"provider": "twilio", "channel": "SMS", "to": "0211$", "code": 21211}]})
    to, final_to = number("1026"), number("0211")
    req = client.request(to)
    final = client.request(final_to, channels=("SMS", "VOICE"))
    outcomes = client.reader("outcomes")
    client.send(req, final)
    seen = outcomes.wait(lambda rs: outcome(rs, req["message_id"], "delivered")
                         and outcome(rs, final["message_id"], "failed"), 30, f"fallback\n{worker.tail()}")
    failed = outcome(seen, req["message_id"], "failed")
    assert (failed["hop"], failed["channel"], failed["error_code"], failed["is_final"]) == (0, "WHATSAPP", "131026",
                                                                                           False)
    rerouted = [r for r in seen if r["message_id"] == req["message_id"] and r["status"] == "routed" and r["hop"] == 1]
    assert rerouted[0]["reason"] == "fallback_permanent_failure" and rerouted[0]["channel"] == "SMS"
    assert outcome(seen, req["message_id"], "delivered")["hop"] == 1
    wa, sms = stack.sent(to)
    assert (wa["channel"], sms["channel"]) == ("WHATSAPP", "SMS")
    assert sms["created_at"] >= wa["updated_at"]  # the second channel only after the first one failed
    # 21211 (invalid number) is final: no voice call is attempted
    gave_up = outcome(seen, final["message_id"], "failed")
    assert gave_up["is_final"] and gave_up["error_code"] == "21211"
    assert stack.sent(final_to) == []


def test_no_delivery_by_the_deadline_falls_back(stack: Stack, client: Client, worker: Proc,
                                                scenario: Callable[[dict], None]) -> None:
    scenario({"rules": [{"provider": "meta", "to": "4040$", "callbacks": {"drop": True}}]})
    to = number("4040")
    req = client.request(to)
    outcomes = client.reader("outcomes")
    client.send(req)
    seen = outcomes.wait(lambda rs: outcome(rs, req["message_id"], "delivered"), 40, f"timeout\n{worker.tail()}")
    expired = outcome(seen, req["message_id"], "expired")
    assert expired["hop"] == 0 and expired["error_code"] == "deadline"
    rerouted = [r for r in seen if r["message_id"] == req["message_id"] and r["status"] == "routed" and r["hop"] == 1]
    assert rerouted[0]["reason"] == "fallback_timeout"
    routed_at = outcome(seen, req["message_id"], "routed")["occurred_at"]
    assert rerouted[0]["occurred_at"] - routed_at >= 8000  # CARELAY_DELIVERY_DEADLINE_NORMAL_S
    assert [m["channel"] for m in stack.sent(to)] == ["WHATSAPP", "SMS"]


def test_statuses_out_of_order_and_twice_reconcile_to_one_history(stack: Stack, client: Client, worker: Proc,
                                                                   scenario: Callable[[dict], None]) -> None:
    scenario({"callbacks": {"out_of_order": True, "duplicate": True, "delay_ms": 50}})
    to = number()
    req = client.request(to)
    outcomes, states = client.reader("outcomes"), client.reader("message_state")
    client.send(req)
    outcomes.wait(lambda rs: "read" in of(rs, req["message_id"]), 30, f"read\n{worker.tail()}")
    time.sleep(1.0)  # the reversed, duplicated tail (sent, then its duplicate) arrives after `read`
    seen = outcomes.poll(0.5)
    # one outcome per change: `read` first implies `delivered`; the late `delivered` and `sent` change nothing
    assert of(seen, req["message_id"]) == ["accepted", "routed", "queued", "delivered", "read"]
    final = [r for r in states.poll(0.5) if r["message_id"] == req["message_id"]][-1]
    assert final["status"] == "read"
    history = [(h["status"], h["source"], h["late"]) for h in final["history"]]
    # every distinct status kept once per attempt, the duplicates dropped; those after `read` are late
    assert history == [("accepted", "pipeline", False), ("routed", "pipeline", False), ("queued", "provider", False),
                       ("delivered", "implied", False), ("read", "provider", False), ("delivered", "provider", True),
                       ("sent", "provider", True)]
    assert (final["reason"], final["error_code"], final["is_final"]) == (None, None, True)


def test_circuit_opens_on_an_outage_routes_around_it_and_closes_again(
        stack: Stack, client: Client, worker: Proc, scenario: Callable[[dict], None]) -> None:
    circuit = client.reader("circuit")
    outcomes, states = client.reader("outcomes"), client.reader("message_state")
    scenario({"outage": {"provider": "meta", "seconds": 4, "http_status": 500, "code": 131000}})
    burst = [client.request(number(), channels=("WHATSAPP",)) for _ in range(6)]
    client.send(*burst)
    events = circuit.wait(lambda rs: any(r["state"] == "open" for r in rs), 30, f"circuit open\n{worker.tail()}")
    opened = next(r for r in events if r["state"] == "open")
    assert opened["channel_instance"] == "demo-clinic-wa-meta" and opened["failures"] >= 5
    seen = outcomes.wait(lambda rs: all(outcome(rs, r["message_id"], "delivered") for r in burst), 30,
                         "burst delivered")
    # every message of the burst still went out once, on the other WhatsApp sender where needed
    for r in burst:
        [sent] = stack.sent(message_id=r["message_id"])
        assert sent["channel"] == "WHATSAPP"
    assert any(o["reason"] == "fallback_circuit_open" for o in seen if o["status"] == "routed")
    # the 500s before the circuit opened were retried: each retry is in the history with its call and next try
    ids = {r["message_id"] for r in burst}
    written = [r for r in states.poll(1.0) if r["message_id"] in ids]
    retries = [h for r in written for h in r["history"] if h["status"] == "retrying"]
    assert retries, f"no retry in the history\n{worker.tail()}"
    assert all(h["attempt"] >= 1 and h["reason"] in ("provider_error", "circuit_open")
               and h["next_attempt_at"] > h["at"] for h in retries)
    last = {r["message_id"]: r for r in written}
    assert {(r["error_code"], r["reason"]) for r in last.values()} == {(None, None)}
    assert {r["status"] for r in last.values()} <= {"delivered", "read"}

    time.sleep(4 + 3)  # the outage ends; then the recovery time lets trial calls through
    trials = [client.request(number(), channels=("WHATSAPP",)) for _ in range(3)]
    client.send(*trials)
    events = circuit.wait(lambda rs: any(r["state"] == "closed" for r in rs), 30, f"circuit closed\n{worker.tail()}")
    assert [r["state"] for r in events if r["channel_instance"] == "demo-clinic-wa-meta"][:3] == [
        "open", "half_open", "closed"]


def test_a_bot_answering_every_message_is_capped_and_paused(stack: Stack, client: Client, worker: Proc) -> None:
    to = number()
    answered, alerts = bot_until_paused(stack, client, to, "HELP", to_address=SMS_FROM)
    assert 1 <= answered <= 5, answered  # CARELAY_LOOP_CAP_REPLIES
    assert alerts and alerts[0]["reason"] in ("ping_pong", "loop_cap")
    assert len(stack.sent(to)) == answered  # nothing more went out after the pause
