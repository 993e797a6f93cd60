from streams.decide import lifecycle
from streams.decide.intake import new_message
from streams.decide.records import Hop
from streams.decide.status import Entry

from .helpers import request

NOW = 1_000


def hop(n: int = 0, channel: str = "WHATSAPP") -> Hop:
    return Hop(n, f"m1:{n}", channel, f"{channel.lower()}-1", "meta", "first_choice", NOW, NOW + 100, True)


def test_accept_route_and_hop_events_each_emit_one_outcome_with_a_stable_id() -> None:
    msg, accepted = lifecycle.accept(new_message(request(), NOW), NOW)
    assert (accepted.status, accepted.event_id) == ("accepted", "m1:0:accepted")
    msg, routed = lifecycle.route(msg, hop(), NOW)
    assert (routed.status, routed.previous, routed.reason) == ("routed", "accepted", "first_choice")
    msg, outs = lifecycle.hop_event(msg, msg.hops[0], Entry("sent", NOW + 5, source="provider"), final=False)
    assert [(o.status, o.previous, o.event_id) for o in outs] == [("sent", "routed", "m1:0:sent")]
    assert msg.status == "sent" and not msg.is_final
    msg, outs = lifecycle.hop_event(msg, msg.hops[0], Entry("delivered", NOW + 9, source="provider"), final=False)
    assert msg.is_final and msg.final_at_ms == NOW + 9 and outs[0].is_final


def test_a_repeated_event_changes_nothing_but_is_kept_in_the_history() -> None:
    msg, _ = lifecycle.accept(new_message(request(), NOW), NOW)
    msg, _ = lifecycle.route(msg, hop(), NOW)
    msg, _ = lifecycle.hop_event(msg, msg.hops[0], Entry("sent", NOW + 5), final=False)
    before = len(msg.history)
    msg, outs = lifecycle.hop_event(msg, msg.hops[0], Entry("queued", NOW + 6), final=False)
    assert outs == () and len(msg.history) == before + 1 and msg.status == "sent"


def test_finish_ends_the_message_once() -> None:
    msg, _ = lifecycle.accept(new_message(request(), NOW), NOW)
    msg, outs = lifecycle.finish(msg, "cancelled", NOW + 1, "opted_out")
    assert [(o.status, o.reason, o.is_final) for o in outs] == [("cancelled", "opted_out", True)]
    again, outs = lifecycle.finish(msg, "blocked", NOW + 2, "blocked_no_consent")
    assert outs == () and again.status == "cancelled"


def test_a_second_hop_outcome_carries_its_own_hop_and_channel() -> None:
    msg, _ = lifecycle.accept(new_message(request(), NOW), NOW)
    msg, _ = lifecycle.route(msg, hop(0), NOW)
    msg, routed = lifecycle.route(msg, hop(1, "SMS"), NOW + 50)
    assert (routed.hop, routed.channel, routed.event_id, routed.previous) == (1, "SMS", "m1:1:routed", None)
