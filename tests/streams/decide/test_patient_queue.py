"""One patient, one queue: order through holds, quiet hours for every non-urgent send, expiry while
held, and what a held or scheduled message shows (streams.decide.intake)."""
from __future__ import annotations

import heapq
import random
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from streams.care.clock import QuietHours
from streams.care.schedule import Kind, Planned
from streams.convert import state_record
from streams.decide.intake import QUEUE_STEP_MS, Action, Decision, Request, decide
from streams.decide.lifecycle import expired_while_waiting, retrying, waiting
from streams.decide.ratelimit import Limit
from streams.decide.records import Held, Ledger, Message, Patient, Reminders, prune_held, unsent_ahead
from streams.decide.world import World

from .helpers import request, world

NOW = 1_000_000
MEXICO = "America/Mexico_City"
NIGHT = QuietHours(21 * 60, 8 * 60)


def at(local: str, tz: str = MEXICO) -> int:
    """Epoch ms of a local wall-clock time ("2026-12-08 02:55") in `tz`."""
    return int(datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def quiet_world(now_ms: int, org_zone: str = MEXICO, quiet: QuietHours = NIGHT) -> World:
    return replace(world(now_ms), quiet=lambda _org: (org_zone, quiet))


def step(patient: Patient, existing: Message | None, req: Request, now: int = NOW, *,
         w: World | None = None) -> Decision:
    return decide(patient, existing, req, w or world(now), {})


# -- order ----------------------------------------------------------------------------------------
def held_patient(*entries: tuple[str, str, int]) -> Patient:
    return Patient(held=tuple(Held(*e) for e in entries))


def parked(message_id: str, hold: str = "rate_limited", due: int = NOW + 5000) -> Message:
    """A message accepted earlier and parked, coming back."""
    first = decide(Patient(), None, request(message_id, send_at_ms=NOW - 1), world(NOW - 10), {})
    assert first.message is not None
    return waiting(first.message, NOW - 10, hold, due)


ORDER_CASES = [
    # (id, queue before, the message (None: new), request, action, reason, queue after, due)
    ("new_behind_a_held_one_waits_though_its_limit_allows",
     [("m0", "rate_limited", NOW + 5000)], None, request("m1"),
     Action.PARK, "queued", ["m0", "m1"], NOW + 5000 + QUEUE_STEP_MS),
    ("behind_a_head_already_due_waits_a_step_from_now",
     [("m0", "rate_limited", NOW - 500)], None, request("m1"),
     Action.PARK, "queued", ["m0", "m1"], NOW + QUEUE_STEP_MS),
    ("the_head_coming_back_leaves_and_the_rest_stay_in_order",
     [("m0", "rate_limited", NOW), ("m1", "rate_limited", NOW + 1000)], "m0", request("m0"),
     Action.DISPATCH, "first_choice", ["m1"], None),
    ("a_later_entry_coming_back_first_waits_its_turn_in_place",
     [("m0", "rate_limited", NOW + 3000), ("m1", "rate_limited", NOW)], "m1", request("m1"),
     Action.PARK, "queued", ["m0", "m1"], NOW + 3000 + QUEUE_STEP_MS),
    ("urgent_skips_the_queue",
     [("m0", "rate_limited", NOW + 5000)], None, request("u1", priority="URGENT"),
     Action.DISPATCH, "first_choice", ["m0"], None),
    ("expiry_removes_an_entry_from_the_middle",
     [("m0", "rate_limited", NOW + 5000), ("m1", "rate_limited", NOW), ("m2", "rate_limited", NOW + 7000)], "m1",
     request("m1", expires_at_ms=NOW),
     Action.FINISH, "expired_before_send", ["m0", "m2"], None),
    ("scheduled_is_not_in_the_queue_until_send_at",
     [("m0", "rate_limited", NOW + 5000)], None, request("s1", send_at_ms=NOW + 60_000),
     Action.PARK, "scheduled", ["m0"], NOW + 60_000),
]


@pytest.mark.parametrize(("queue", "existing", "req", "action", "reason", "after", "due"),
                         [c[1:] for c in ORDER_CASES], ids=[c[0] for c in ORDER_CASES])
def test_queue(queue: list[tuple[str, str, int]], existing: str | None, req: Request, action: Action, reason: str,
               after: list[str], due: int | None) -> None:
    patient = held_patient(*queue)
    msg = replace(parked(existing), expires_at_ms=req.expires_at_ms) if existing else None
    d = step(patient, msg, req)
    assert (d.action, d.reason) == (action, reason)
    assert [h.message_id for h in d.patient.held] == after
    assert d.due_ms == due


def test_a_message_held_by_the_cap_joins_the_queue_with_its_due_time() -> None:
    patient = Patient()
    for i in range(3):
        patient = step(patient, None, request(f"m{i}")).patient
    d = step(patient, None, request("m3"))
    assert (d.action, d.reason) == (Action.PARK, "rate_limited")
    assert d.patient.held == (Held("m3", "rate_limited", NOW + 1_200_000),)


def test_pruning_forgets_entries_that_ended_or_went_out_elsewhere() -> None:
    gone = replace(parked("m0"), is_final=True, status="cancelled")
    kept = parked("m1")
    patient = held_patient(("m0", "rate_limited", NOW), ("m1", "rate_limited", NOW), ("m2", "rate_limited", NOW))
    pruned = prune_held(patient, {"m0": gone, "m1": kept}.get)
    assert [h.message_id for h in pruned.held] == ["m1"]


@pytest.mark.parametrize("seed", range(8), ids=[f"jitter_{s}" for s in range(8)])
def test_five_sends_leave_in_the_order_accepted_however_the_parked_records_come_back(seed: int) -> None:
    """Five sends 0.3 s apart to one patient, the sender limited to one every 2 s; each parked record
    comes back up to 1.5 s late (delay topics of different steps), so they come back out of order."""
    rng = random.Random(seed)
    w0 = world(NOW)
    inst = Limit(1, 0.5)
    wlimit = replace(w0, instance_limit=lambda _id: inst)
    patient, messages, shared = Patient(), {}, {}
    events: list[tuple[int, int, str]] = [(NOW + i * 300, i, f"m{i}") for i in range(5)]
    heapq.heapify(events)
    order: list[str] = []
    seq = 5
    while events:
        now, _, mid = heapq.heappop(events)
        d = decide(patient, messages.get(mid), request(mid), replace(wlimit, now_ms=now), shared)
        patient = d.patient
        shared.update(d.shared)
        if d.message is not None:
            messages[mid] = d.message
        if d.action is Action.DISPATCH:
            order.append(mid)
        elif d.action is Action.PARK:
            assert d.due_ms is not None
            seq += 1
            heapq.heappush(events, (d.due_ms + rng.randint(0, 1500), seq, mid))
    assert order == ["m0", "m1", "m2", "m3", "m4"]
    assert patient.held == ()


# -- quiet hours ----------------------------------------------------------------------------------
def with_appointment(tz: str) -> Patient:
    planned = Planned("appt-1", "clinic", "rid1", Kind.BOOKED, None, tz, "es", None, 0)
    return Patient(appointments=(Reminders(planned, ("k", "n", "c")),))


QUIET_CASES = [
    # (id, now, request, patient, org zone, action, reason, due)
    ("normal_send_at_0255_in_the_org_zone_waits_until_0800",
     at("2026-12-08 02:55"), request("m1"), Patient(), MEXICO,
     Action.PARK, "quiet_hours", at("2026-12-08 08:00")),
    ("a_plain_text_send_is_held_as_well",
     at("2026-12-08 02:55"), request("m1", template=None, asks=None, has_text=True), Patient(), MEXICO,
     Action.PARK, "quiet_hours", at("2026-12-08 08:00")),
    ("urgent_goes_at_once",
     at("2026-12-08 02:55"), request("u1", priority="URGENT"), Patient(), MEXICO,
     Action.DISPATCH, "first_choice", None),
    ("the_sends_timezone_where_it_is_afternoon_goes",
     at("2026-12-08 02:55"), request("m1", timezone="Asia/Tokyo"), Patient(), MEXICO,
     Action.DISPATCH, "first_choice", None),
    ("the_sends_timezone_where_it_is_night_waits_for_its_morning",
     at("2026-12-08 15:00"), request("m1", timezone="Asia/Tokyo"), Patient(), MEXICO,
     Action.PARK, "quiet_hours", at("2026-12-09 08:00", "Asia/Tokyo")),
    ("the_appointments_zone_when_the_send_names_none",
     at("2026-12-08 02:55", "Europe/Madrid"), request("m1", appointment_id="appt-1"),
     with_appointment("Europe/Madrid"), "UTC",
     Action.PARK, "quiet_hours", at("2026-12-08 08:00", "Europe/Madrid")),
    ("the_zone_the_patient_last_named",
     at("2026-12-08 23:30", "Asia/Tokyo"), request("m1"), Patient(timezone="Asia/Tokyo"), MEXICO,
     Action.PARK, "quiet_hours", at("2026-12-09 08:00", "Asia/Tokyo")),
    ("daytime_in_the_org_zone_goes",
     at("2026-12-08 10:00"), request("m1"), Patient(), MEXICO,
     Action.DISPATCH, "first_choice", None),
    ("at_the_end_of_quiet_hours_it_goes",
     at("2026-12-08 08:00"), request("m1"), Patient(), MEXICO,
     Action.DISPATCH, "first_choice", None),
]


@pytest.mark.parametrize(("now", "req", "patient", "org_zone", "action", "reason", "due"),
                         [c[1:] for c in QUIET_CASES], ids=[c[0] for c in QUIET_CASES])
def test_quiet_hours(now: int, req: Request, patient: Patient, org_zone: str, action: Action, reason: str,
                     due: int | None) -> None:
    d = step(patient, None, req, w=quiet_world(now, org_zone))
    assert (d.action, d.reason, d.due_ms) == (action, reason, due)
    if action is Action.PARK:
        assert [h.message_id for h in d.patient.held] == [req.message_id]


def test_a_message_held_for_the_night_goes_in_the_morning_ahead_of_one_sent_at_dawn() -> None:
    night = step(Patient(), None, request("m1"), w=quiet_world(at("2026-12-08 02:55")))
    dawn = step(night.patient, None, request("m2"), w=quiet_world(at("2026-12-08 07:59")))
    assert [h.message_id for h in dawn.patient.held] == ["m1", "m2"]
    morning = at("2026-12-08 08:00")
    second = step(dawn.patient, dawn.message, request("m2"), w=quiet_world(morning))
    assert (second.action, second.reason) == (Action.PARK, "queued")  # came back first: behind m1 still
    first = step(second.patient, night.message, request("m1"), w=quiet_world(morning))
    assert first.action is Action.DISPATCH
    then = step(first.patient, second.message, request("m2"), w=quiet_world(morning + QUEUE_STEP_MS))
    assert then.action is Action.DISPATCH and then.patient.held == ()


# -- expiry while held ----------------------------------------------------------------------------
def capped_patient() -> Patient:
    patient = Patient()
    for i in range(3):
        patient = step(patient, None, request(f"c{i}")).patient
    return patient


EXPIRY_CASES = [
    # (id, patient, request, world, due)
    ("rate_limited_comes_back_at_its_expiry_not_after_the_cap",
     capped_patient(), request("m1", expires_at_ms=NOW + 25_000), world(NOW), NOW + 25_000),
    ("scheduled_past_its_expiry_comes_back_at_the_expiry",
     Patient(), request("m1", send_at_ms=NOW + 60_000, expires_at_ms=NOW + 30_000), world(NOW), NOW + 30_000),
    ("quiet_hours_come_back_at_the_expiry",
     Patient(), request("m1", expires_at_ms=at("2026-12-08 03:30")), quiet_world(at("2026-12-08 02:55")),
     at("2026-12-08 03:30")),
    ("behind_the_queue_comes_back_at_the_expiry",
     held_patient(("m0", "rate_limited", NOW + 600_000)), request("m1", expires_at_ms=NOW + 25_000), world(NOW),
     NOW + 25_000),
]


@pytest.mark.parametrize(("patient", "req", "w", "due"), [c[1:] for c in EXPIRY_CASES],
                         ids=[c[0] for c in EXPIRY_CASES])
def test_no_park_outlives_the_expiry(patient: Patient, req: Request, w: World, due: int) -> None:
    d = step(patient, None, req, w=w)
    assert (d.action, d.due_ms) == (Action.PARK, due)
    assert req.expires_at_ms is not None
    back = step(d.patient, d.message, req, w=replace(w, now_ms=req.expires_at_ms))
    assert back.action is Action.FINISH and back.outcomes[-1].status == "expired"
    assert all(h.message_id != req.message_id for h in back.patient.held)
    assert back.message is not None
    record = state_record(back.message)
    assert (record["reason"], record["next_attempt_at"]) == ("expired_before_send", None)


# -- what a held or scheduled message shows -------------------------------------------------------
SHOWN_CASES = [
    ("scheduled_shows_send_at", Patient(), request("m1", send_at_ms=NOW + 60_000), world(NOW),
     "send_at", NOW + 60_000),
    ("rate_limited", capped_patient(), request("m1"), world(NOW), "rate_limited", NOW + 1_200_000),
    ("quiet_hours", Patient(), request("m1"), quiet_world(at("2026-12-08 02:55")), "quiet_hours",
     at("2026-12-08 08:00")),
    ("behind_a_rate_limited_head_shows_the_heads_reason", held_patient(("m0", "rate_limited", NOW + 9000)),
     request("m1"), world(NOW), "rate_limited", NOW + 9000 + QUEUE_STEP_MS),
]


@pytest.mark.parametrize(("patient", "req", "w", "reason", "next_ms"), [c[1:] for c in SHOWN_CASES],
                         ids=[c[0] for c in SHOWN_CASES])
def test_a_waiting_message_carries_its_reason_and_next_attempt(patient: Patient, req: Request, w: World,
                                                               reason: str, next_ms: int) -> None:
    d = step(patient, None, req, w=w)
    assert d.message is not None
    record = state_record(d.message)
    assert (record["status"], record["reason"], record["next_attempt_at"]) == ("accepted", reason, next_ms)
    assert record["history"][-1]["status"] == ("scheduled" if reason == "send_at" else "held")


def test_routing_clears_the_hold() -> None:
    d = step(Patient(), None, request("m1", send_at_ms=NOW + 1000))
    back = step(d.patient, d.message, request("m1", send_at_ms=NOW + 1000), NOW + 1000)
    assert back.action is Action.DISPATCH and back.message is not None
    record = state_record(back.message)
    assert (record["reason"], record["next_attempt_at"]) == (None, None)


def test_utc_offsets_of_the_cases_are_what_they_say() -> None:
    assert datetime.fromtimestamp(at("2026-12-08 02:55") / 1000, UTC).hour == 8  # Mexico City is UTC-6


# -- the reconciliation sweep ends what still waits past its expiry -------------------------------
def routed(ledger: Ledger) -> Message:
    d = step(Patient(), None, request("m1", expires_at_ms=NOW + 10))
    assert d.message is not None and d.message.current is not None
    return d.message.with_hop(replace(d.message.current, ledger=ledger))


SWEEP_CASES = [
    ("held_past_its_expiry", parked("m1"), NOW + 10, NOW + 10, True),
    ("held_before_its_expiry", parked("m1"), NOW + 10, NOW + 9, False),
    ("held_without_an_expiry", parked("m1"), None, NOW + 10**9, False),
    ("waiting_for_a_retry_past_its_expiry", routed(Ledger.WAITING), NOW + 10, NOW + 10, True),
    ("planned_is_the_dispatchers_to_screen", routed(Ledger.PLANNED), NOW + 10, NOW + 10, False),
    ("in_flight_may_be_with_the_provider", routed(Ledger.IN_FLIGHT), NOW + 10, NOW + 10, False),
    ("with_the_provider", routed(Ledger.ACCEPTED), NOW + 10, NOW + 10, False),
    ("already_final", replace(parked("m1"), is_final=True, status="cancelled"), NOW + 10, NOW + 10, False),
]


@pytest.mark.parametrize(("msg", "expires", "now", "ends"), [c[1:] for c in SWEEP_CASES],
                         ids=[c[0] for c in SWEEP_CASES])
def test_the_sweep_ends_a_waiting_message_past_its_expiry(msg: Message, expires: int | None, now: int,
                                                          ends: bool) -> None:
    assert expired_while_waiting(replace(msg, expires_at_ms=expires), now) is ends


def test_a_queued_message_coming_back_again_keeps_one_held_entry() -> None:
    patient = held_patient(("m0", "rate_limited", NOW + 5000))
    first = step(patient, None, request("m1"))
    again = step(first.patient, first.message, request("m1"), NOW + 6000)
    assert again.message is not None
    assert [e.status for e in again.message.history] == ["accepted", "held"]
    assert again.message.history[-1].next_attempt_at_ms == NOW + 6000 + QUEUE_STEP_MS  # the head is due: a step on


# -- through retries: a later message waits while an earlier one is routed but not yet sent --------
def on_its_way(ledger: Ledger, *, urgent: bool = False, retry_at: int | None = None) -> Message:
    msg = replace(routed(ledger), message_id="m0", priority="URGENT" if urgent else "NORMAL")
    if retry_at is not None:
        assert msg.current is not None
        msg = retrying(msg, msg.current, NOW, "retryable", "500", retry_at)
    return msg


UNSENT_CASES = [
    # (id, the earlier message, when the later one's wait ends: None = it goes)
    ("planned", on_its_way(Ledger.PLANNED), 0),
    ("in_flight", on_its_way(Ledger.IN_FLIGHT), 0),
    ("waiting_for_a_retry", on_its_way(Ledger.WAITING, retry_at=NOW + 800), NOW + 800),
    ("taken_by_the_provider", on_its_way(Ledger.ACCEPTED), None),
    ("failed_for_good", replace(on_its_way(Ledger.FAILED), is_final=True, status="failed"), None),
    ("urgent_ahead_does_not_hold_the_queue", on_its_way(Ledger.WAITING, urgent=True), None),
]


@pytest.mark.parametrize(("earlier", "wait"), [c[1:] for c in UNSENT_CASES], ids=[c[0] for c in UNSENT_CASES])
def test_unsent_ahead(earlier: Message, wait: int | None) -> None:
    patient = Patient().add_pending("m0", earlier.urgent)
    assert unsent_ahead(patient, "m1", {"m0": earlier}.get) == wait
    patient = patient.add_pending("m1", False)
    assert unsent_ahead(patient, "m0", {"m0": earlier}.get) is None  # nothing is ahead of the first


@pytest.mark.parametrize(("req", "action", "due"), [
    (request("m1"), Action.PARK, NOW + 800 + QUEUE_STEP_MS),
    (request("u1", priority="URGENT"), Action.DISPATCH, None),
], ids=["normal_waits_until_after_the_retry", "urgent_goes"])
def test_a_later_message_waits_behind_one_that_is_retrying(req: Request, action: Action, due: int | None) -> None:
    d = decide(Patient(), None, req, world(NOW), {}, unsent_ahead=None if req.priority == "URGENT" else NOW + 800)
    assert (d.action, d.due_ms) == (action, due)
    if action is Action.PARK:
        assert d.reason == "queued" and [h.message_id for h in d.patient.held] == ["m1"]
        assert state_record(d.message)["reason"] == "queued"
