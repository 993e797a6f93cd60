from dataclasses import replace

from streams.decide.intake import new_message
from streams.decide.records import Ledger, Patient, Question, prune_pending

from .helpers import request


def test_window_keeps_the_latest_inbound_per_sender() -> None:
    p = Patient().with_window("wa-meta", 10).with_window("wa-meta", 5).with_window("wa-twilio", 7)
    assert p.last_inbound() == {"wa-meta": 10, "wa-twilio": 7}


def test_pending_is_pruned_of_final_gone_and_provider_taken_messages() -> None:
    live = new_message(request("live"), 0)
    done = replace(new_message(request("done"), 0), is_final=True)
    from streams.decide.intake import decide

    from .helpers import world

    routed = decide(Patient(), None, request("taken"), world(0), {}).message
    assert routed is not None
    taken = routed.with_hop(replace(routed.hops[0], ledger=Ledger.ACCEPTED))
    known = {m.message_id: m for m in (live, done, taken)}
    p = Patient()
    for mid in ("live", "done", "taken", "gone"):
        p = p.add_pending(mid, False)
    assert [x.message_id for x in prune_pending(p, known.get).pending] == ["live"]


def test_questions_expire() -> None:
    q = Question("m1", 0)
    assert Patient(question=q).open_question(71 * 3600 * 1000) == q
    assert Patient(question=q).open_question(72 * 3600 * 1000) is None
