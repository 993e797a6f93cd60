"""The operations page's decisions: circuit rows, the unseen-accepts alarm, dead letters by reason, whether a
dead letter may be replayed, whose it is, and what of its record is shown."""
from __future__ import annotations

import pytest

from gateway.console import operations as ops
from gateway.console.roles import ConsoleRole, Permission, allows

WA = ops.Instance("c-wa", "c", "WHATSAPP", "meta")
SMS = ops.Instance("c-sms", "c", "SMS", "twilio")


def tr(state: str, previous: str, at: int, instance: str = "c-wa") -> ops.Transition:
    return ops.Transition(instance, state, previous, 5, at)


def letter(n: int, reason: str = "undecodable", *, value: bytes | None = b"v") -> ops.DeadLetter:
    return ops.DeadLetter(f"0-{n}", "c", "p.send.requests", 0, n, b"k", value, reason, None, None, 1000 + n)


@pytest.mark.parametrize(("held", "state", "since", "shown"), [
    pytest.param((), "closed", None, 0, id="no-transition-is-closed"),
    pytest.param((tr("open", "closed", 10),), "open", 10, 1, id="opened"),
    pytest.param((tr("open", "closed", 10), tr("half_open", "open", 40)), "half_open", 40, 2, id="trying"),
    pytest.param(tuple(tr("open" if i % 2 else "closed", "closed" if i % 2 else "open", i) for i in range(1, 9)),
                 "closed", 8, ops.RECENT_TRANSITIONS, id="only-the-recent-shown"),
])
def test_channel_rows(held, state, since, shown):
    rows = ops.channel_rows([WA], {"c-wa": held})
    assert (rows[0].state, rows[0].since_ms, len(rows[0].transitions)) == (state, since, shown)
    if held:
        assert rows[0].transitions[0] == held[-1]  # newest first


def test_channel_rows_are_ordered_by_channel_then_id():
    assert [r.instance.id for r in ops.channel_rows([WA, SMS], {})] == ["c-sms", "c-wa"]


@pytest.mark.parametrize(("accepted", "count", "oldest", "ids"), [
    pytest.param([], 0, None, (), id="nothing-waiting"),
    pytest.param([("m1", 95_000)], 0, None, (), id="too-recent-to-alarm"),
    pytest.param([("m1", 40_000)], 1, 40_000, ("m1",), id="exactly-late"),
    pytest.param([("m2", 10_000), ("m1", 5_000), ("m3", 99_000)], 2, 5_000, ("m1", "m2"), id="oldest-first"),
])
def test_unseen(accepted, count, oldest, ids):
    assert ops.unseen(accepted, now_ms=100_000, after_ms=60_000) == ops.Unseen(count, oldest, ids)


def test_unseen_names_at_most_a_few():
    u = ops.unseen([(f"m{i}", i) for i in range(100)], 100_000, 60_000)
    assert u.count == 100 and len(u.message_ids) == ops.SHOWN_UNSEEN and u.message_ids[0] == "m0"


@pytest.mark.parametrize(("reason", "shown", "matched", "first"), [
    pytest.param(None, 4, 4, "0-4", id="all-newest-first"),
    pytest.param("undecodable", 3, 3, "0-4", id="filtered"),
    pytest.param("no_recipient", 1, 1, "0-2", id="other-reason"),
    pytest.param("never_seen", 0, 0, None, id="a-reason-with-none"),
])
def test_build_filters_and_counts(reason, shown, matched, first):
    letters = [letter(1), letter(2, "no_recipient"), letter(3), letter(4)]
    counts = {"undecodable": 3, "no_recipient": 1}
    o = ops.build((), ops.Unseen(0, None, ()), counts, letters, reason, {"0-4": ops.Replay("0-4", "a", "c", 1, "x")})
    assert (len(o.dead_letters), o.matched, o.total) == (shown, matched, 4)
    assert (o.dead_letters[0].dead_letter_id if o.dead_letters else None) == first
    assert o.counts == (("undecodable", 3), ("no_recipient", 1))
    assert set(o.replayed) == ({"0-4"} & {d.dead_letter_id for d in o.dead_letters})


def test_build_shows_a_page_and_counts_every_one():
    letters = [letter(i) for i in range(500)]
    o = ops.build((), ops.Unseen(0, None, ()), {"undecodable": 900}, letters, None, {})
    assert len(o.dead_letters) == ops.SHOWN_DEAD_LETTERS and o.total == o.matched == 900  # counts outlive the held


REPLAYED = ops.Replay("0-1", "console:dana", "c", 5, "fixed the schema")


@pytest.mark.parametrize(("d", "replay", "known", "refusal"), [
    pytest.param(letter(1), None, True, None, id="may-replay"),
    pytest.param(letter(1), REPLAYED, True, ops.ALREADY_REPLAYED, id="second-replay-refused"),
    pytest.param(letter(1, value=None), None, True, ops.NO_VALUE, id="nothing-kept"),
    pytest.param(letter(1), None, False, ops.UNKNOWN_TOPIC, id="not-this-deployments-topic"),
    pytest.param(letter(1, value=None), REPLAYED, False, ops.ALREADY_REPLAYED, id="replayed-says-so-first"),
])
def test_replay_refusal(d, replay, known, refusal):
    assert ops.replay_refusal(d, replay, known) == refusal


@pytest.mark.parametrize(("record", "org"), [
    pytest.param({"organization_id": "c"}, "c", id="own-field"),
    pytest.param({"organization_id": ""}, None, id="empty-is-none"),
    pytest.param({"query": {"org": "c", "message_id": "m"}}, "c", id="webhook-envelope-reference"),
    pytest.param({"query": {}}, None, id="envelope-without-reference"),
    pytest.param({"source_topic": "x"}, None, id="names-none"),
])
def test_organization_of(record, org):
    assert ops.organization_of(record) == org


def test_shown_fields_never_open_a_sealed_value():
    sealed = {"kid": "k1", "nonce": b"n" * 12, "ct": b"secret", "v": 2}
    shown = dict(ops.shown_fields({"recipient": sealed, "raw": b"12345", "absent": None, "long": "x" * 500,
                                   "channel": "SMS"}))
    assert shown["recipient"] is None and "secret" not in repr(shown)
    assert shown["raw"] == "5 bytes" and shown["absent"] == "-" and shown["channel"] == "SMS"
    assert shown["long"] is not None and len(shown["long"]) == ops.FIELD_CHARS + 1


@pytest.mark.parametrize(("raw", "why"), [
    pytest.param("schema registered again", "schema registered again", id="plain"),
    pytest.param("  two\n lines ", "two lines", id="one-line"),
    pytest.param("ok", None, id="too-short"),
    pytest.param("x" * 301, None, id="too-long"),
    pytest.param("   ", None, id="blank"),
])
def test_clean_why(raw, why):
    assert ops.clean_why(raw) == why


@pytest.mark.parametrize(("role", "allowed"), [
    pytest.param(ConsoleRole.ADMIN, True, id="admin"),
    pytest.param(ConsoleRole.STAFF, False, id="staff"),
    pytest.param(ConsoleRole.AUDITOR, False, id="auditor"),
    pytest.param(ConsoleRole.ANALYST, False, id="analyst"),
])
def test_who_runs_operations(role, allowed):
    assert allows(role, Permission.OPERATIONS) is allowed
