"""Accepted sends the stream workers never picked up: the alarm for a lost request.

A 202 means the send request is on Kafka; the workers' first step (intake) writes the message's
state within seconds, even for a request scheduled for later or held by a rate limit. So each gateway
process checks, `CARELAY_GATEWAY_UNSEEN_AFTER_S` after it accepted a message, that its message-state
view has a record of it, and counts the ones it has not (`carelay_gateway_unseen_accepts_total`,
plus a warning naming the message ids, which carry no PHI). A rise means the pipeline is far behind
or has lost requests: both need a person. Just after this process started it can also mean that its
view is still reading a long message-state topic from the beginning.

Only this process's own accepts are checked, in the order it accepted them; beyond `capacity`
waiting checks the oldest are dropped unchecked (`dropped`, logged) rather than let memory grow.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable


class UnseenWatch:
    def __init__(self, after_ms: int, capacity: int = 200_000) -> None:
        self.after_ms = after_ms
        self.capacity = capacity
        self._due: deque[tuple[int, str]] = deque()  # (check at, message id), in accept order
        self.dropped = 0  # checks given up because `capacity` were waiting

    def __len__(self) -> int:
        return len(self._due)

    def note(self, message_id: str, accepted_at_ms: int) -> None:
        if len(self._due) >= self.capacity:
            self._due.popleft()
            self.dropped += 1
        self._due.append((accepted_at_ms + self.after_ms, message_id))

    def sweep(self, now_ms: int, seen: Callable[[str], bool]) -> list[str]:
        """The message ids whose time came and that `seen` does not know, each returned once."""
        due, unseen = self._due, []
        while due and due[0][0] <= now_ms:
            _, message_id = due.popleft()
            if not seen(message_id):
                unseen.append(message_id)
        return unseen
