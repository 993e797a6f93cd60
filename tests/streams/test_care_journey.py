"""Care journeys end to end on the real broker: an appointment booked on `appointments` (by a producer,
or by an EHR through the gateway's FHIR door) -> the worker's reminder plan and timer -> the reminder
reaches the simulator -> the patient answers through the simulator's signed webhooks -> CareEvents on
`appointment.events` / `staff.notifications` -> staff read them through the gateway, and the analytics
sink over those topics gives `carelay report` its confirmation and cancellation rates.

Time is compressed with short reminder offsets: an appointment 30 s ahead gets reminders 20 s and
8 s before it (10 s and 22 s from booking); quiet hours are off for the demo organization."""
from __future__ import annotations

import io
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from analytics import report
from schemas.phi import Binding
from stack.javaproc import free_port

from .conftest import wait_ready
from .harness import ORG, Client, Proc, Stack, _ok, number, wait_until

START_IN_S = 30
RESTART_START_IN_S = 50  # the successor of a killed worker has time to start before the first reminder
OFFSETS = (20, 8)
CARE = {
    "CARELAY_CARE_REMINDER_OFFSETS_S": ",".join(str(o) for o in OFFSETS),
    "CARELAY_CARE_ORGS": f"{ORG}=America/Mexico_City@00:00-00:00",  # start == end: no quiet hours
}


@pytest.fixture(scope="module")
def care_worker(stack: Stack, client: Client) -> Iterator[Proc]:
    proc = stack.worker("care-worker", CARE)
    wait_ready(proc)
    yield proc
    proc.stop()


def book(client: Client, to: str, start_ms: int) -> str:
    appointment_id = f"appt-{uuid.uuid4().hex[:12]}"
    bound = Binding(ORG, appointment_id)  # as the gateway's FHIR door seals (schemas.phi.RECORD_IDS)

    def seal(field: str, value: str) -> Any:
        return client.cipher.seal(field, value, bound)

    rid = client.rid(to)
    client.publish("appointments", rid.encode(), {
        "event_id": str(uuid.uuid4()), "kind": "BOOKED", "appointment_id": appointment_id, "organization_id": ORG,
        "patient_ref": None, "recipient": seal("recipient", to), "recipient_id": rid,
        "recipient_name": seal("recipient_name", "Ana"), "language": "es", "timezone": "America/Mexico_City",
        "clinic": "Clinica Sur", "practitioner": None, "location": None, "start_at": start_ms,
        "previous_start_at": None, "source_status": "booked", "source_version": None,
        "occurred_at": int(time.time() * 1000), "source": "producer", "metadata": {},
    })
    return appointment_id


def reminders(stack: Stack, to: str) -> list[dict[str, Any]]:
    """Reminders the simulator accepted: a template outside the WhatsApp window, an interactive
    message (same words, the same confirm/cancel buttons) inside it, after the patient wrote."""
    return [m for m in stack.sent(to) if m.get("template") == "appointment_reminder"
            or "le recordamos su cita" in (m.get("body") or "")]


def acknowledged(stack: Stack, to: str, template: str, words: str) -> list[dict[str, Any]]:
    """Acknowledgements the simulator accepted: the template, or its words inside the WhatsApp window."""
    return [m for m in stack.sent(to) if m.get("template") == template or words in (m.get("body") or "")]


def event(records: list[dict[str, Any]], kind: str, rid: str) -> dict[str, Any] | None:
    return next((r for r in records if r["type"] == kind and r["recipient_id"] == rid), None)


def test_reminders_confirm_cancel_and_stop(stack: Stack, client: Client, care_worker: Proc) -> None:
    confirms, cancels, stops = number(), number(), number()
    start = int(time.time() * 1000) + START_IN_S * 1000
    events, staff = client.reader("appointment_events"), client.reader("staff_notifications")
    appts = {to: book(client, to, start) for to in (confirms, cancels, stops)}

    # the first reminder (20 s before the start) reaches each patient, in Spanish, once
    firsts = {}
    for to in (confirms, cancels, stops):
        found = wait_until(lambda to=to: reminders(stack, to), START_IN_S, f"first reminder\n{care_worker.tail()}")
        [first] = found
        assert (first["channel"], first["language"]) == ("WHATSAPP", "es")
        assert time.time() * 1000 < start - 5000  # not the second one
        firsts[to] = first

    # a tap on the confirm button -> appointment.confirmed for that appointment
    _tap(stack, confirms, f"confirm:{firsts[confirms]['message_id']}")
    # "2" answers the open question: a cancellation request, not an opt-out
    stack.patient_says(cancels, "2", provider="meta", channel="WHATSAPP")
    # STOP stops everything
    stack.patient_says(stops, "STOP", provider="meta", channel="WHATSAPP")

    rid_confirm, rid_cancel = client.rid(confirms), client.rid(cancels)
    seen = events.wait(lambda rs: event(rs, "appointment.confirmed", rid_confirm)
                       and event(rs, "appointment.cancel_requested", rid_cancel), 20,
                       f"appointment events\n{care_worker.tail()}")
    confirmed = event(seen, "appointment.confirmed", rid_confirm)
    assert confirmed is not None
    assert (confirmed["appointment_id"], confirmed["message_id"]) == (appts[confirms],
                                                                      firsts[confirms]["message_id"])
    cancelled = event(seen, "appointment.cancel_requested", rid_cancel)
    assert cancelled is not None
    assert (cancelled["appointment_id"], cancelled["message_id"]) == (appts[cancels], firsts[cancels]["message_id"])
    told = staff.wait(lambda rs: event(rs, "staff.attention_needed", rid_cancel), 10, "staff told")
    notice = event(told, "staff.attention_needed", rid_cancel)
    assert notice is not None and notice["reason"] == "cancel_requested"
    assert not event(seen, "appointment.confirmed", client.rid(stops))
    # each answer is acknowledged, in Spanish, naming the appointment; STOP gets no reminder talk
    for to, template, words in ((confirms, "appointment_confirmed", "queda confirmada"),
                                (cancels, "appointment_cancelled", "solicitud de cancelar")):
        # inside the WhatsApp window the template goes as text: its Spanish words are the check
        wait_until(lambda to=to, template=template, words=words: len(acknowledged(stack, to, template, words)) == 1,
                   20, f"acknowledgement {template}\n{care_worker.tail()}")

    # the second reminder (8 s before the start) goes to the patient who confirmed, and only to them
    outcomes = client.reader("outcomes")
    try:
        wait_until(lambda: len(reminders(stack, confirms)) == 2, START_IN_S, "second reminder")
    except AssertionError:
        mine = [(o["message_id"][:8], o["status"], o.get("reason")) for o in outcomes.poll(1)
                if o["recipient_id"] == rid_confirm]
        raise AssertionError(f"second reminder: {mine}\n{stack.sent(confirms)}") from None
    outcomes.close()
    second = reminders(stack, confirms)[1]
    assert second["message_id"] != firsts[confirms]["message_id"]
    assert "Clinica Sur" in second["body"] and "Ana" in second["body"]  # Spanish, the sealed name opened
    time.sleep(max(0.0, (start - 8000) / 1000 + 3 - time.time()))
    assert len(reminders(stack, cancels)) == 1
    assert len(stack.sent(cancels)) == 2  # the reminder and the acknowledgement of the cancellation
    assert len(stack.sent(stops)) == 2  # STOP: its confirmation, and nothing else after it
    events.close()
    staff.close()


def _tap(stack: Stack, to: str, payload: str) -> None:
    httpx.post(f"{stack.sim_url}/_sim/inbound", json={"provider": "meta", "from": to, "channel": "WHATSAPP",
                                                      "button_payload": payload}, timeout=10).raise_for_status()


SENDER = {"Authorization": "Bearer demo-clinic-sender-key"}
ANALYST_KEY = "demo-clinic-analyst-key"
CLINIC = "Clinica Sur"
NAME = "Rosalba"


def fhir_appointment(appointment_id: str, to: str, start_ms: int) -> dict[str, Any]:
    """What an EHR sends: the Patient contained, its mobile number among others, Spanish preferred."""
    def at(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")
    return {
        "resourceType": "Appointment", "id": appointment_id, "status": "booked",
        "start": at(start_ms), "end": at(start_ms + 1_800_000), "meta": {"versionId": "1"},
        "contained": [{
            "resourceType": "Patient", "id": "p1", "name": [{"family": "Tlaloc", "given": [NAME]}],
            "telecom": [{"system": "email", "value": "paciente@example.com"},
                        {"system": "phone", "value": "+52 55 0000 0000", "use": "home"},
                        {"system": "phone", "value": to, "use": "mobile"}],
            "communication": [
                {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}]}},
                {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es-MX"}]}, "preferred": True}],
        }],
        "participant": [
            {"actor": {"reference": "#p1"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/9", "display": "Dra. Ana Torres"}, "status": "accepted"},
            {"actor": {"reference": "HealthcareService/2", "display": CLINIC}, "status": "accepted"},
        ],
    }


@pytest.fixture(scope="module")
def sink(stack: Stack) -> Iterator[tuple[Proc, str]]:
    """The analytics owner over this session's topics, with its own embedded store."""
    port = free_port()
    proc = Proc("analytics", [sys.executable, "-m", "analytics.sink"], stack.env({
        "CARELAY_CLICKHOUSE_PATH": str(stack.tmp / f"chdb-{uuid.uuid4().hex[:6]}"),
        "CARELAY_ANALYTICS_PORT": str(port), "CARELAY_ANALYTICS_GROUP_ID": f"journey-{uuid.uuid4().hex[:8]}",
        "CARELAY_ANALYTICS_BATCH_INTERVAL_S": "0.3",
    }), stack.tmp / "analytics.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ok(f"{url}/v1/health") or not proc.alive(), 90, f"analytics sink\n{proc.tail()}", 0.5)
        assert proc.alive(), proc.tail()
        yield proc, url
    finally:
        proc.stop()


def answers_report(url: str, start: datetime) -> tuple[str, dict[str, float]]:
    """`carelay report --org demo-clinic` from `start`: the printed text and the answers' totals."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = report.main(["--from", start.isoformat(), "--to", (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
                            "--org", ORG], {"CARELAY_ANALYTICS_URL": url, "CARELAY_ANALYTICS_API_KEY": ANALYST_KEY})
    assert code == 0
    text = out.getvalue()
    lines = text.splitlines()
    heading = next(i for i, line in enumerate(lines) if line.startswith("Appointment reminders answered"))
    header = lines[heading + 1].split()
    totals: dict[str, float] = {}
    for line in lines[heading + 3:]:
        row = dict(zip(header, line.split(), strict=True))
        assert row["organization_id"] == ORG
        for k in ("confirmed", "cancel_requested", "answered"):
            totals[k] = totals.get(k, 0) + int(row[k])
        totals["confirmation_rate"], totals["cancellation_rate"] = (float(row["confirmation_rate"]),
                                                                    float(row["cancellation_rate"]))
    return text, totals


def test_fhir_booking_to_reminder_answer_staff_and_report(stack: Stack, client: Client, care_worker: Proc,
                                                          sink: tuple[Proc, str]) -> None:
    began = datetime.now(UTC) - timedelta(seconds=1)
    confirms, cancels = number(), number()
    start = int(time.time() * 1000) + START_IN_S * 1000
    events = client.reader("appointment_events")
    appts = {to: f"fhir-{uuid.uuid4().hex[:10]}" for to in (confirms, cancels)}
    with httpx.Client(base_url=stack.gw_url, headers=SENDER, timeout=30) as gw:
        for to, appointment_id in appts.items():
            r = gw.put(f"/fhir/Appointment/{appointment_id}", json=fhir_appointment(appointment_id, to, start),
                       headers={"Content-Type": "application/fhir+json"})
            assert r.status_code in (200, 201), r.text
            assert to not in r.text and NAME not in r.text

        # the first reminder reaches each patient on WhatsApp, in Spanish, with the clinic and the name
        firsts = {}
        for to in (confirms, cancels):
            [first] = wait_until(lambda to=to: reminders(stack, to), START_IN_S,
                                 f"first reminder\n{care_worker.tail()}")
            assert (first["channel"], first["language"]) == ("WHATSAPP", "es")
            firsts[to] = first
        assert time.time() * 1000 < start - 5000  # still before the second reminder

        _tap(stack, confirms, f"confirm:{firsts[confirms]['message_id']}")
        stack.patient_says(cancels, "2", provider="meta", channel="WHATSAPP")

        rid_confirm, rid_cancel = client.rid(confirms), client.rid(cancels)
        seen = events.wait(lambda rs: event(rs, "appointment.confirmed", rid_confirm)
                           and event(rs, "appointment.cancel_requested", rid_cancel), 20,
                           f"appointment events\n{care_worker.tail()}")
        events.close()
        confirmed, cancelled = event(seen, "appointment.confirmed", rid_confirm), event(
            seen, "appointment.cancel_requested", rid_cancel)
        assert confirmed is not None and cancelled is not None
        assert (confirmed["appointment_id"], confirmed["message_id"]) == (appts[confirms],
                                                                          firsts[confirms]["message_id"])
        assert cancelled["appointment_id"] == appts[cancels]

        # staff see the cancellation request through the gateway, without the patient's number or words
        def staff_notice() -> dict[str, Any] | None:
            r = gw.get("/v1/staff/notifications", params={"since": began.isoformat().replace("+00:00", "Z")})
            assert r.status_code == 200, r.text
            return next((n for n in r.json()["notifications"] if n["recipient_id"] == rid_cancel), None)
        notice = wait_until(staff_notice, 20, "the cancellation in GET /v1/staff/notifications")
        assert (notice["type"], notice["reason"], notice["appointment_id"]) == (
            "staff.attention_needed", "cancel_requested", appts[cancels])
        assert "text" not in notice and cancels not in repr(notice)

    # the second reminder goes to the patient who confirmed, never to the one who asked to cancel
    wait_until(lambda: len(reminders(stack, confirms)) == 2, START_IN_S, f"second reminder\n{care_worker.tail()}")
    second = reminders(stack, confirms)[1]
    assert CLINIC in second["body"] and NAME in second["body"]  # Spanish, the sealed name opened
    time.sleep(max(0.0, (start - 8000) / 1000 + 3 - time.time()))
    assert len(reminders(stack, cancels)) == 1

    # the analytics report: one confirmation and one cancellation request for the organization
    proc, url = sink
    text, totals = wait_until(lambda: (r := answers_report(url, began))[1].get("answered") == 2 and r, 60,
                              f"both answers in the report\n{proc.tail()}", 1.0)
    assert (totals["confirmed"], totals["cancel_requested"]) == (1, 1), text
    assert (totals["confirmation_rate"], totals["cancellation_rate"]) == (0.5, 0.5), text
    assert confirms not in text and NAME not in text


def plan_stored(client: Client, rid: str, appointment_id: str) -> Callable[[], bool]:
    """Whether the patient's reminder plan for the appointment is in the `patients` changelog."""
    topic = f"{client.settings.kafka.topic_prefix}streams-patients-changelog"
    consumer = Consumer({"bootstrap.servers": client.settings.kafka.bootstrap, "group.id": f"test-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
    key, seen = orjson.dumps(rid), []

    def check() -> bool:
        seen.extend(m for m in consumer.consume(500, timeout=0.2) if m.error() is None and m.key() == key
                    and appointment_id.encode() in (m.value() or b""))
        if seen:
            consumer.close()
        return bool(seen)
    return check


def test_a_plan_restored_from_the_changelog_is_armed_at_assignment(stack: Stack, client: Client,
                                                                    care_worker: Proc) -> None:
    """Last in the module: it kills the module's worker. The plan reaches the successor only through
    the changelog (a replayed booking is `stale` against it and arms nothing), and the timer rescans
    the table only when an assignment completes: both reminders go out, once each, in time."""
    to = number()
    start = int(time.time() * 1000) + RESTART_START_IN_S * 1000
    appointment_id = book(client, to, start)
    wait_until(plan_stored(client, client.rid(to), appointment_id), 20, f"plan in the changelog\n{care_worker.tail()}")
    care_worker.kill()
    successor = stack.worker("care-worker-2", CARE)
    try:
        wait_ready(successor)
        first_due = start - OFFSETS[0] * 1000
        [first] = wait_until(lambda: reminders(stack, to), RESTART_START_IN_S, f"first reminder\n{successor.tail()}")
        assert first["created_at"] * 1000 >= first_due - 1000  # not before its time
        wait_until(lambda: len(reminders(stack, to)) == 2, RESTART_START_IN_S, f"second reminder\n{successor.tail()}")
        assert time.time() * 1000 < start  # both before the appointment: neither skipped as late
        time.sleep(3)
        assert len(reminders(stack, to)) == 2
    finally:
        successor.stop()
