"""The AI agent bridge end to end on the real broker: a patient's free text through the simulator's
signed inbound webhook -> `ai.requests` -> the reference agent (`python -m stack.reference_agent`,
its own process) -> `ai.responses` -> the answer reaches the patient in the same conversation. Without
an agent, the holding message after CARELAY_CARE_AI_REPLY_TIMEOUT_S (3 s) and a staff flag.

The first test runs before the agent starts; the module's later tests share one agent; the last one
stops it and kills the worker."""
from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from schemas.phi import binding_of
from schemas.settings import TwilioSettings
from stack.reference_agent import READY, REPLIES

from .conftest import wait_ready
from .harness import ORG, Client, Proc, Stack, bot_until_paused, number, wait_until

SMS_FROM = TwilioSettings().sms_from
HOLDING_SMS = "Gracias por su mensaje. Un miembro del equipo le respondera pronto."  # holding_message, es, sms
TIMEOUT_S = 3.0  # CARELAY_CARE_AI_REPLY_TIMEOUT_S, the default


@pytest.fixture(scope="module")
def agent(stack: Stack, worker: Proc) -> Iterator[Proc]:
    proc = Proc("reference-agent", [sys.executable, "-m", "stack.reference_agent"], stack.env(),
                stack.tmp / "reference-agent.log").start()
    stack.procs.append(proc)
    wait_until(lambda: READY in proc.tail(100_000) or not proc.alive(), 60, f"reference agent\n{proc.tail()}", 0.2)
    assert proc.alive(), proc.tail()
    yield proc
    proc.stop()


def staff_flag(records: list[dict[str, Any]], rid: str, reason: str) -> dict[str, Any] | None:
    return next((r for r in records if r["recipient_id"] == rid and r["reason"] == reason), None)


def test_without_an_agent_the_patient_gets_the_holding_message_after_3s_and_staff_are_flagged(
        stack: Stack, client: Client, worker: Proc) -> None:
    to = number()
    rid = client.rid(to)
    requests, staff = client.reader("ai_requests"), client.reader("staff_notifications")
    words = "¿tienen estacionamiento para bicicletas?"
    asked_at = time.time()
    stack.patient_says(to, words, to=SMS_FROM)

    # the request: pseudonymous ids, the conversation, the words sealed
    found = requests.wait(lambda rs: any(r["recipient_id"] == rid for r in rs), 20, f"ai request\n{worker.tail()}")
    request = next(r for r in found if r["recipient_id"] == rid)
    assert (request["organization_id"], request["conversation_id"], request["channel"]) == (ORG, f"{ORG}|{rid}", "SMS")
    assert request["message_id"] == f"ai:{request['correlation_id']}" and not request["handoff"]
    assert client.cipher.open("text", request["text"], binding_of("AiMessage", request)) == words
    assert to not in str(request) and words not in str(request)

    held = wait_until(lambda: [m for m in stack.sent(to) if m.get("body") == HOLDING_SMS], 20,
                      f"holding message\n{worker.tail()}")
    [holding] = held
    waited = holding["created_at"] - asked_at
    assert TIMEOUT_S <= waited < TIMEOUT_S + 6, waited  # after the deadline, and soon after it
    assert (holding["channel"], holding["sender"]) == ("SMS", SMS_FROM)  # the conversation the patient wrote in
    seen = staff.wait(lambda rs: staff_flag(rs, rid, "ai_timeout"), 10, "staff flag")
    flag = staff_flag(seen, rid, "ai_timeout")
    assert flag is not None and flag["type"] == "staff.attention_needed"
    assert flag["message_id"] == request["correlation_id"] and flag["details"]["ai_request"] == request["message_id"]
    assert len(stack.sent(to)) == 1
    requests.close()
    staff.close()


def test_the_agent_answers_in_the_same_conversation(stack: Stack, client: Client, agent: Proc) -> None:
    to = number()
    responses = client.reader("ai_responses")
    stack.patient_says(to, "Buenas, ¿cuál es su horario?", to=SMS_FROM)
    answer = REPLIES["hours"]["es"]
    got = wait_until(lambda: stack.sent(to), 20, f"the agent's answer\n{agent.tail()}")
    assert [m["body"] for m in got] == [answer]
    assert (got[0]["channel"], got[0]["sender"]) == ("SMS", SMS_FROM)
    rid = client.rid(to)
    [reply] = [r for r in responses.poll(1) if r["recipient_id"] == rid]
    assert reply["metadata"] == {"agent": "reference", "rule": "hours"} and not reply["handoff"]
    time.sleep(TIMEOUT_S + 1)
    assert len(stack.sent(to)) == 1  # answered in time: no holding message after it
    responses.close()


def test_asking_for_a_person_hands_the_conversation_to_staff(stack: Stack, client: Client, agent: Proc) -> None:
    to = number()
    rid = client.rid(to)
    staff = client.reader("staff_notifications")
    stack.patient_says(to, "Quiero hablar con una persona", to=SMS_FROM)
    seen = staff.wait(lambda rs: staff_flag(rs, rid, "ai_handoff"), 20, f"handoff\n{agent.tail()}")
    assert not staff_flag(seen, rid, "ai_timeout")
    got = wait_until(lambda: stack.sent(to), 20, "holding message")
    assert [m["body"] for m in got] == [HOLDING_SMS]
    staff.close()


def test_a_bot_talking_to_the_agent_is_paused(stack: Stack, client: Client, agent: Proc) -> None:
    to = number()
    answered, alerts = bot_until_paused(stack, client, to, "hola", to_address=SMS_FROM, quiet_s=TIMEOUT_S + 2,
                                        timeout=60)
    assert 1 <= answered <= 5, answered  # CARELAY_LOOP_CAP_REPLIES
    assert alerts and alerts[0]["reason"] in ("ping_pong", "loop_cap")
    sent = stack.sent(to)
    assert len(sent) == answered  # nothing more after the pause: no answer, no holding message
    assert {m["body"] for m in sent} == {REPLIES["greeting"]["es"]}  # the agent's answers, in time


def test_a_worker_killed_while_a_request_waits_still_sends_the_holding_message(
        stack: Stack, client: Client, worker: Proc, agent: Proc) -> None:
    """Last in the module: it stops the agent and replaces the module's worker. The wait is in the
    patient record (changelog), and the new owner's heap is rebuilt from it on assignment."""
    agent.stop()
    to = number()
    rid = client.rid(to)
    requests, staff = client.reader("ai_requests"), client.reader("staff_notifications")
    stack.patient_says(to, "¿aceptan tarjeta de crédito?", to=SMS_FROM)
    requests.wait(lambda rs: any(r["recipient_id"] == rid for r in rs), 20, f"ai request\n{worker.tail()}")
    worker.kill()  # before the deadline: nobody has sent the holding message yet
    assert stack.sent(to) == []
    successor = stack.worker("ai-worker-2")
    try:
        wait_ready(successor)
        held = wait_until(lambda: stack.sent(to), 60, f"holding message after the restart\n{successor.tail()}")
        assert [m["body"] for m in held] == [HOLDING_SMS]
        staff.wait(lambda rs: staff_flag(rs, rid, "ai_timeout"), 20, "staff flag after the restart")
        time.sleep(2)
        assert len(stack.sent(to)) == 1
    finally:
        successor.stop()
        requests.close()
        staff.close()
