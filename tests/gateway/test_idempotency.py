"""The per-process idempotency table: deterministic ids, replay, conflict, in-flight, bounded memory."""
from __future__ import annotations

import asyncio

from gateway.idempotency import Accepted, IdempotencyTable, Verdict, message_id_for


def test_message_ids_are_deterministic_per_organization():
    assert message_id_for("org", "k") == message_id_for("org", "k")
    assert message_id_for("org", "k") != message_id_for("other", "k")
    assert message_id_for("org", "k") != message_id_for("org", "k2")


def test_replay_conflict_and_in_flight():
    async def run() -> None:
        table = IdempotencyTable()
        assert table.check("o", "k", b"fp")[0] is Verdict.NEW
        fut = table.begin("o", "k", b"fp")
        assert table.check("o", "k", b"fp")[0] is Verdict.IN_FLIGHT
        assert table.check("o", "k", b"other")[0] is Verdict.CONFLICT
        table.finish("o", "k", Accepted("m1", b"fp", "o", 1))
        assert fut.done()
        verdict, seen = table.check("o", "k", b"fp")
        assert verdict is Verdict.REPLAY and seen is not None and seen.message_id == "m1"
        assert table.check("o", "k", b"other")[0] is Verdict.CONFLICT
        assert table.check("p", "k", b"fp")[0] is Verdict.NEW
        assert table.accepted("m1") is seen

    asyncio.run(run())


def test_a_failed_publish_is_forgotten():
    async def run() -> None:
        table = IdempotencyTable()
        table.begin("o", "k", b"fp")
        table.finish("o", "k", None)
        assert table.check("o", "k", b"fp")[0] is Verdict.NEW

    asyncio.run(run())


def test_memory_is_bounded():
    async def run() -> None:
        table = IdempotencyTable(capacity=3)
        for i in range(5):
            table.begin("o", str(i), b"fp")
            table.finish("o", str(i), Accepted(f"m{i}", b"fp", "o", i))
        assert len(table) == 3
        assert table.check("o", "0", b"fp")[0] is Verdict.NEW
        assert table.accepted("m0") is None and table.accepted("m4") is not None

    asyncio.run(run())
