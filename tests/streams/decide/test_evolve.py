import dataclasses

import pytest

from streams.decide.evolve import evolve
from streams.decide.records import Hop, Ledger, Message


def _message() -> Message:
    hop = Hop(1, "att-1", "WHATSAPP", "meta-1", "meta", "first", 10, 20, True)
    return Message("m-1", "org", "rid", "NORMAL", ("WHATSAPP", "SMS"), "appointment_reminder", "es", False, None,
                   None, False, 5, None, hops=(hop,), seen_events=("e-1",))


def test_evolve_equals_replace() -> None:
    msg = _message()
    changes = {"status": "sent", "updated_at_ms": 30, "command": "Zm9v"}
    evolved = evolve(msg, **changes)
    assert evolved == dataclasses.replace(msg, **changes)
    assert type(evolved) is Message
    assert msg.status == "accepted" and msg.command is None  # the original is untouched
    hop = msg.hops[0]
    assert evolve(hop, ledger=Ledger.ACCEPTED) == dataclasses.replace(hop, ledger=Ledger.ACCEPTED)


def test_evolved_records_stay_frozen_and_hashable() -> None:
    evolved = evolve(_message(), status="sent")
    with pytest.raises(dataclasses.FrozenInstanceError):
        evolved.status = "read"  # type: ignore[misc]
    assert hash(evolved) == hash(dataclasses.replace(_message(), status="sent"))


def test_a_misspelt_field_fails_as_with_replace() -> None:
    with pytest.raises(TypeError, match="no field 'stauts'"):
        evolve(_message(), stauts="sent")


def test_only_plain_frozen_dataclasses() -> None:
    @dataclasses.dataclass
    class Mutable:
        x: int

    @dataclasses.dataclass(frozen=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            if self.x < 0:
                raise ValueError("negative")

    for obj in (Mutable(1), Checked(1)):
        with pytest.raises(TypeError, match="not a plain frozen dataclass"):
            evolve(obj, x=2)
