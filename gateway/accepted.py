"""The accepted-sends view: what every gateway process (and any other writer) accepted, until its state arrives.

A send is accepted when Kafka acknowledged its SendRequest on `send.requests`, so that topic is the
record of every accept, whichever process took it. Each gateway process reads it (gateway.topicview:
all partitions, from the beginning) and keeps message id -> (organization, accepted at) for the
messages its message-state view does not have yet: GET /v1/messages/{id} answers `accepted` for them
instead of 404, also when another uvicorn worker or replica took the send, this process restarted
since, or the stream workers are behind. Entries are dropped once the state view has the message,
so memory holds only the messages the workers have not reported on.

Only the first two fields are read (`message_id`, `organization_id`, first in every version of the
SendRequest schema this process registered), without decoding the sealed rest; a record written
with another schema id is decoded whole. The accept time is the record's Kafka timestamp.

`caught_up` lets a GET that finds nothing wait until the view has read what the broker held when the
GET began: a send acknowledged to its sender before that is then known (read-your-writes across
processes).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from gateway.topicview import METADATA_TIMEOUT_S, TopicView
from schemas.codec import AvroCodec
from schemas.errors import ContractError

log = logging.getLogger(__name__)

HEADER = 5          # Confluent wire format: magic byte, schema id (big-endian int32)
OFFSET_END = -1     # offsets_for_times: the latest offset
PRUNE_FLOOR = 4096  # entries kept before the first pass that drops the messages with a state


@dataclass(frozen=True)
class AcceptedSend:
    message_id: str
    organization_id: str
    accepted_at_ms: int


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """An Avro long (zig-zag varint) at `pos`: (value, next position)."""
    shift = result = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _string(data: bytes, pos: int) -> tuple[str, int]:
    size, pos = _varint(data, pos)
    if size < 0 or pos + size > len(data):
        raise ValueError("string out of bounds")
    return data[pos:pos + size].decode("utf-8"), pos + size


def leading_ids(body: bytes) -> tuple[str, str]:
    """(message_id, organization_id): the first two strings of a SendRequest's Avro body."""
    message_id, pos = _string(body, 0)
    organization_id, _ = _string(body, pos)
    return message_id, organization_id


class AcceptedSendsView(TopicView):
    name = "accepted sends view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec, known: Callable[[str], bool]) -> None:
        super().__init__(bootstrap, topic, codec)
        self._known = known  # the message-state view has it: no need to remember the accept
        self._sends: dict[str, tuple[str, int]] = {}
        self._prune_at = PRUNE_FLOOR
        self._lock = threading.Lock()
        self._fresh: list[_Sync] = []    # GETs waiting, their end offsets not asked yet
        self._waiting: list[_Sync] = []  # consumer thread only: GETs waiting for the positions

    def __len__(self) -> int:
        return len(self._sends)

    def get(self, message_id: str) -> AcceptedSend | None:
        found = self._sends.get(message_id)
        return None if found is None else AcceptedSend(message_id, found[0], found[1])

    def of_organization(self, organization_id: str) -> list[tuple[str, int]]:
        """(message id, accepted at) of the organization's accepts held: some may have a state by now."""
        held = list(self._sends.items())  # one C-level copy: the consumer thread may add meanwhile
        return [(mid, at) for mid, (org, at) in held if org == organization_id]

    # -- the consumer thread -----------------------------------------------------------------
    def after_batch(self, consumer: Consumer) -> None:
        """Answer the GETs waiting in `caught_up`: the end offsets are asked on this thread's own
        connection, once for all the GETs that arrived since the last batch; a GET is released when
        the consumer's positions (not the last offset seen: transaction markers leave gaps) reach them."""
        with self._lock:
            fresh, self._fresh = self._fresh, []
        if fresh:
            try:
                # one ListOffsets request for every partition: timestamp -1 asks for the end offset
                asked = [TopicPartition(tp.topic, tp.partition, OFFSET_END) for tp in consumer.assignment()]
                ends = {tp.partition: tp.offset for tp in consumer.offsets_for_times(asked, timeout=METADATA_TIMEOUT_S)}
            except KafkaException as exc:
                log.info("%s: no end offsets: %s", self.name, exc.args[0].name())
                for sync in fresh:
                    sync.done.set()
                fresh = []
            for sync in fresh:
                sync.ends = ends
            self._waiting.extend(fresh)
        if not self._waiting:
            return
        positions = {tp.partition: tp.offset for tp in consumer.position(consumer.assignment())}
        still = []
        for sync in self._waiting:
            assert sync.ends is not None
            if all(positions.get(p, -1) >= end for p, end in sync.ends.items() if end > 0):
                sync.reached = True
                sync.done.set()
            elif not sync.done.is_set():  # a GET that gave up is forgotten
                still.append(sync)
        self._waiting = still

    def receive(self, msg: Any) -> None:
        value = msg.value()
        if value is None:
            return
        try:
            message_id, organization_id = self._ids(value)
        except (ContractError, ValueError, UnicodeDecodeError, IndexError) as exc:
            self.skipped(exc if isinstance(exc, ContractError) else ContractError(f"{self.name}: {type(exc).__name__}"))
            return
        if self._known(message_id):
            return
        _, timestamp = msg.timestamp()
        self._sends[message_id] = (organization_id, timestamp if timestamp > 0 else int(time.time() * 1000))
        if len(self._sends) >= self._prune_at:
            self._prune()

    def _ids(self, value: bytes) -> tuple[str, str]:
        self._codec.check_frame(value)
        if int.from_bytes(value[1:HEADER], "big") == self._codec.schema_id:
            return leading_ids(value[HEADER:])
        record = self._codec.decode(value)
        return str(record["message_id"]), str(record["organization_id"])

    def _prune(self) -> None:
        for message_id in [m for m in self._sends if self._known(m)]:
            del self._sends[message_id]
        self._prune_at = max(PRUNE_FLOOR, 2 * len(self._sends))

    # -- read-your-writes --------------------------------------------------------------------
    def caught_up(self, timeout_s: float) -> bool:
        """Wait (blocking: call it off the event loop) until this view has read every record the broker
        held when called; False when that did not happen within `timeout_s` or the broker did not answer."""
        sync = _Sync()
        with self._lock:
            self._fresh.append(sync)
        sync.done.wait(timeout_s)
        sync.done.set()  # given up or answered: the consumer thread drops it
        return sync.reached


@dataclass
class _Sync:
    """One GET waiting for the view to reach the end offsets as of its arrival."""

    done: threading.Event = field(default_factory=threading.Event)
    ends: dict[int, int] | None = None
    reached: bool = False
