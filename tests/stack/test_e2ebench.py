"""The bench's count of Kafka records per lifecycle: counted on a run's topics, on the real broker."""
from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from stack.e2ebench import per_lifecycle, records_line, records_on_topics


def test_records_are_counted_on_the_runs_topics_only(kafka) -> None:
    prefix = f"count{uuid.uuid4().hex[:6]}."
    written = {f"{prefix}delivery.outcomes": 6, f"{prefix}message.state": 4,
               f"{prefix}streams-__assignor-__leader": 3, f"other{uuid.uuid4().hex[:6]}.message.state": 5}
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    for future in admin.create_topics([NewTopic(name, 2, 1) for name in written]).values():
        future.result(30)
    producer = Producer({"bootstrap.servers": kafka.bootstrap})
    for name, count in written.items():
        for i in range(count):
            producer.produce(name, key=str(i).encode(), value=b"v", partition=i % 2)
    assert producer.flush(30) == 0
    assert records_on_topics(kafka.bootstrap, prefix) == {"delivery.outcomes": 6, "message.state": 4}


def test_records_per_lifecycle_and_their_line() -> None:
    result = per_lifecycle({"message.state": 8, "delivery.outcomes": 12, "send.requests": 2}, 2)
    assert result == {"lifecycles": 2, "records_per_lifecycle": pytest.approx(11.0),
                      "records_per_lifecycle_by_topic": {"delivery.outcomes": 6.0, "message.state": 4.0,
                                                         "send.requests": 1.0}}
    assert list(result["records_per_lifecycle_by_topic"]) == ["delivery.outcomes", "message.state", "send.requests"]
    line = records_line(result)
    assert "11.0 per WhatsApp lifecycle" in line and "over 2 lifecycles (target <= 12)" in line
    assert line.endswith("delivery.outcomes 6.0, message.state 4.0, send.requests 1.0")
