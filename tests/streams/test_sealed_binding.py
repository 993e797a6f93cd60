"""Sealed values are bound to their organization and record (schemas.phi, v2), on the real broker: a
value copied from another organization's request, or another request of the same one, does not open,
so nothing is sent with it; the request is dead-lettered as unreadable."""
from __future__ import annotations

from typing import Any

from schemas.phi import Binding

from .harness import ORG, Client, Proc, Stack, number, wait_until


def moved(client: Client, to: str, source: Binding) -> dict[str, Any]:
    """A request of ORG whose recipient was sealed for `source` and copied in by someone who can write
    to Kafka (the bytes are a valid sealed value, just not this request's)."""
    req = client.request(to, channels=("SMS",))
    req["recipient"] = client.cipher.seal("recipient", to, source)
    return req


def test_a_sealed_value_moved_from_another_record_is_not_opened(stack: Stack, client: Client, worker: Proc) -> None:
    other_org, other_record, fine = number(), number(), number()
    dead = client.reader("dead_letter")
    outcomes = client.reader("outcomes")
    from_other_org = moved(client, other_org, Binding("other-clinic", "m-elsewhere"))
    from_other_org["message_id"] = "m-elsewhere"  # the same id: only the organization differs
    from_other_record = moved(client, other_record, Binding(ORG, "m-another"))
    ok = client.request(fine, channels=("SMS",))
    client.send(from_other_org, from_other_record, ok)

    wanted = {from_other_org["message_id"], from_other_record["message_id"]}
    found = dead.wait(lambda rs: wanted <= {r.get("message_id") for r in rs}, 30, f"dead letters\n{worker.tail()}")
    reasons = {r["message_id"]: r["reason"] for r in found if r.get("message_id") in wanted}
    assert reasons == {m: "unreadable_request" for m in wanted}
    outcomes.wait(lambda rs: any(r["message_id"] == ok["message_id"] and r["status"] == "delivered" for r in rs),
                  30, "the bound request delivered")
    assert wait_until(lambda: stack.sent(fine), 10, "sent")
    assert stack.sent(other_org) == [] and stack.sent(other_record) == []
    dead.close()
    outcomes.close()
