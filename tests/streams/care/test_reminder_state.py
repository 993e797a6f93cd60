"""The reminder plans kept in the patient record: changelog round trip, cancellation, pruning."""
from streams import statecodec
from streams.agents.appointments import prune
from streams.agents.base import cancel_reminders
from streams.care import schedule
from streams.care.schedule import Appointment, Kind, SchedulePolicy, SlotState
from streams.decide.records import Patient, Question, Reminders, sealed_from_state, sealed_to_state

NOW = 1_800_000_000_000
HOUR = 3_600_000
SEALED = {"kid": "k1", "nonce": b"\x00" * 12, "ct": b"\x01\x02secret", "v": 2}


def reminders(appointment_id: str, start_ms: int) -> Reminders:
    appt = Appointment(appointment_id, "org", "rid", Kind.BOOKED, start_ms, NOW)
    change = schedule.on_event(None, appt, SchedulePolicy("UTC", schedule.QuietHours(0, 0)), NOW)
    assert change.planned is not None
    return Reminders(change.planned, sealed_to_state(SEALED) or ("", "", ""), sealed_to_state(SEALED))


def test_a_patient_with_plans_survives_the_changelog() -> None:
    patient = Patient(question=Question("m1", NOW, "a1", clarified=True)).with_reminders(
        reminders("a1", NOW + 48 * HOUR))
    back = statecodec.loads(Patient, statecodec.dumps(patient))
    assert back == patient
    assert back.appointments[0].planned.slots[0].state is SlotState.PENDING
    assert sealed_from_state(back.appointments[0].recipient) == SEALED


def test_cancel_reminders_of_one_appointment_or_all() -> None:
    patient = Patient().with_reminders(reminders("a1", NOW + 48 * HOUR)).with_reminders(
        reminders("a2", NOW + 48 * HOUR))
    one = cancel_reminders(patient, "cancel_requested", "a1")
    a1, a2 = one.reminders("a1"), one.reminders("a2")
    assert a1 is not None and not a1.planned.pending()
    assert a2 is not None and len(a2.planned.pending()) == 2
    everything = cancel_reminders(patient, "opted_out")
    assert not any(r.planned.pending() for r in everything.appointments)
    assert cancel_reminders(everything, "opted_out") is everything


def test_finished_plans_are_forgotten_a_day_after_the_start() -> None:
    patient = cancel_reminders(Patient().with_reminders(reminders("a1", NOW + HOUR * 48)), "x")
    assert prune(patient, NOW + 49 * HOUR).appointments
    assert not prune(patient, NOW + 73 * HOUR).appointments


def test_a_sealed_value_kept_by_the_previous_release_reads_as_v1():
    kid, nonce, ct, _ = sealed_to_state(SEALED) or ("", "", "", "")
    assert sealed_from_state((kid, nonce, ct)) == {**SEALED, "v": 1}
