from streams.care.ai_bridge import Bridge, expire, next_deadline, on_response, request
from streams.care.loopguard import LoopConfig, LoopState, allow_automated

CFG = LoopConfig(cap=2, window_ms=600_000)
T = 5_000_000
FREE = LoopState()
NUMBER = ("k1", "bm9uY2U=", "Y3Q=")


def ask(bridge=None, event="twilio:SM1", now=T):
    return request(bridge or Bridge(), "clinic-42", "rid-1", event, "WHATSAPP", "es", now, 3000,
                   appointment_id="apt-1", recipient=NUMBER)


def test_request_carries_the_conversation_and_is_idempotent():
    bridge, req = ask()
    assert (req.request_id, req.conversation_id, req.correlation_id) == ("ai:twilio:SM1", "clinic-42|rid-1",
                                                                        "twilio:SM1")
    assert req.appointment_id == "apt-1" and bridge.waiting[0].recipient == NUMBER
    again, _ = ask(bridge)
    assert again == bridge and next_deadline(bridge) == T + 3000


def test_reply_in_time_is_sent_as_an_automated_reply_in_the_same_conversation():
    bridge, req = ask()
    out = on_response(bridge, FREE, req.request_id, False, T + 1200, CFG)
    assert out.send is not None and out.send.automated_reply and out.send.template is None
    assert (out.send.channel, out.send.correlation_id, out.send.message_id) == ("WHATSAPP", req.request_id,
                                                                               "ai:twilio:SM1:reply")
    assert out.bridge.waiting == () and out.entry is not None and out.entry.recipient == NUMBER
    assert out.loop == FREE  # intake charges the loop guard when it dispatches the send, once
    assert expire(out.bridge, FREE, T + 10_000, CFG) == ()
    assert next_deadline(out.bridge) is None


def test_no_reply_within_3s_sends_the_holding_message_and_flags_staff():
    bridge, req = ask()
    assert expire(bridge, FREE, T + 3000, CFG) == ()  # not yet
    [out] = expire(bridge, FREE, T + 3001, CFG)
    assert out.send is not None and out.send.template == "holding_message" and out.staff_reason == "ai_timeout"
    assert out.send.message_id == "ai:twilio:SM1:holding" and out.bridge.waiting == ()
    late = on_response(out.bridge, out.loop, req.request_id, False, T + 4000, CFG)
    assert late.send is None and late.ignored == "unknown_or_late"


def test_reply_after_the_deadline_loses_to_the_holding_message():
    bridge, req = ask()
    out = on_response(bridge, FREE, req.request_id, False, T + 3500, CFG)
    assert out.send is None and out.ignored == "late" and out.bridge == bridge
    [held] = expire(out.bridge, FREE, T + 3600, CFG)
    assert held.send is not None and held.send.template == "holding_message"


def test_handoff_sends_the_holding_message_and_flags_staff():
    bridge, req = ask()
    out = on_response(bridge, FREE, req.request_id, True, T + 100, CFG)
    assert out.send is not None and out.send.template == "holding_message" and out.staff_reason == "ai_handoff"
    assert out.bridge.waiting == ()


def test_the_loop_guard_caps_automated_replies_counted_once_by_intake():
    bridge, loop = Bridge(), FREE
    sent = 0
    for i in range(4):
        now = T + i * 1000
        bridge, req = ask(bridge, event=f"e{i}", now=now)
        out = on_response(bridge, loop, req.request_id, False, now + 10, CFG)
        bridge, loop = out.bridge, out.loop
        if out.send is not None:
            sent += 1
            loop = allow_automated(loop, now + 20, CFG)[1]  # what intake does when it dispatches it
        else:
            assert out.staff_reason == "loop_paused" and loop.paused(now + 10)
    assert sent == 2


def test_expiring_several_requests_at_once_respects_the_cap():
    bridge = Bridge()
    for i in range(3):
        bridge, _ = ask(bridge, event=f"e{i}", now=T + i)
    outs = expire(bridge, FREE, T + 10_000, CFG)
    assert [o.send is not None for o in outs] == [True, True, False]
    assert [o.staff_reason for o in outs] == ["ai_timeout", "ai_timeout", "loop_paused"]
    assert outs[-1].bridge.waiting == () and outs[-1].loop.paused(T + 10_000)


def test_waiting_requests_survive_the_changelog_and_older_records_still_read():
    import orjson

    from streams import statecodec
    from streams.decide.records import Patient

    bridge, _ = ask()
    patient = Patient(organization_id="clinic-42", ai=bridge)
    back = statecodec.loads(Patient, statecodec.dumps(patient))
    assert back == patient and back.ai.waiting[0].recipient == NUMBER
    before = orjson.loads(statecodec.dumps(Patient(organization_id="clinic-42")))
    del before["ai"]  # written by a release without the bridge
    assert statecodec.loads(Patient, orjson.dumps(before)).ai == Bridge()
