"""The stream worker end to end on the real broker: simulator -> gateway -> streams -> simulator."""
from __future__ import annotations

from .harness import Client, Proc, Stack, number


def statuses(records: list[dict], message_id: str) -> list[str]:
    return [r["status"] for r in records if r["message_id"] == message_id]


def test_a_reminder_goes_out_once_and_its_statuses_come_back(stack: Stack, client: Client, worker: Proc) -> None:
    to = number()
    req = client.request(to)
    outcomes = client.reader("outcomes")
    client.send(req)
    seen = outcomes.wait(lambda rs: "read" in statuses(rs, req["message_id"]), 30,
                         f"read outcome\n{worker.tail()}")
    assert statuses(seen, req["message_id"])[:2] == ["accepted", "routed"]
    sent = stack.sent(to)
    assert len(sent) == 1, sent
    outcomes.close()
