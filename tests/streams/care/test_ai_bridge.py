from streams.care.ai_bridge import Bridge, expire, next_deadline, on_response, request
from streams.decide.loopguard import LoopConfig

CFG = LoopConfig(cap=2, window_ms=600_000)
T = 5_000_000


def ask(bridge=None, event="twilio:SM1", now=T):
    return request(bridge or Bridge(), "clinic-42", "rid-1", event, "WHATSAPP", "es", now, 3000)


def test_request_carries_the_conversation_and_is_idempotent():
    bridge, req = ask()
    assert (req.request_id, req.conversation_id, req.correlation_id) == ("ai:twilio:SM1", "clinic-42|rid-1",
                                                                        "twilio:SM1")
    again, _ = ask(bridge)
    assert again == bridge and next_deadline(bridge) == T + 3000


def test_reply_in_time_is_sent_as_an_automated_reply_in_the_same_conversation():
    bridge, req = ask()
    out = on_response(bridge, req.request_id, False, T + 1200, CFG)
    assert out.send is not None and out.send.automated_reply and out.send.template is None
    assert (out.send.channel, out.send.correlation_id, out.send.message_id) == ("WHATSAPP", req.request_id,
                                                                               "ai:twilio:SM1:reply")
    assert out.bridge.waiting == () and out.bridge.loop.automated == (T + 1200,)
    assert expire(out.bridge, T + 10_000, CFG) == ()


def test_no_reply_within_3s_sends_the_holding_message_and_flags_staff():
    bridge, req = ask()
    assert expire(bridge, T + 3000, CFG) == ()  # not yet
    [out] = expire(bridge, T + 3001, CFG)
    assert out.send.template == "holding_message" and out.staff_reason == "ai_timeout"
    late = on_response(out.bridge, req.request_id, False, T + 4000, CFG)
    assert late.send is None and late.ignored == "unknown_or_late"


def test_reply_after_the_deadline_loses_to_the_holding_message():
    bridge, req = ask()
    out = on_response(bridge, req.request_id, False, T + 3500, CFG)
    assert out.send is None and out.ignored == "late" and out.bridge == bridge


def test_handoff_flags_staff_without_sending():
    bridge, req = ask()
    out = on_response(bridge, req.request_id, True, T + 100, CFG)
    assert out.send is None and out.staff_reason == "ai_handoff"


def test_the_loop_guard_caps_automated_replies():
    bridge = Bridge()
    sent = 0
    for i in range(4):
        bridge, req = ask(bridge, event=f"e{i}", now=T + i * 1000)
        out = on_response(bridge, req.request_id, False, T + i * 1000 + 10, CFG)
        bridge = out.bridge
        sent += out.send is not None
        if out.send is None:
            assert out.staff_reason == "loop_paused"
    assert sent == 2
