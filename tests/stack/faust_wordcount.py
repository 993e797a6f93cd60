"""A word-count Faust app for tests/stack: one agent, one consumer group, one changelogged table."""
from __future__ import annotations

import os

import faust

APP_ID = os.environ["FAUST_TEST_APP_ID"]

app = faust.App(
    APP_ID,
    broker=f"kafka://{os.environ['FAUST_TEST_BOOTSTRAP']}",
    # In memory on purpose: after a restart the counts can only come back from the changelog topic.
    store="memory://",
    topic_partitions=2,
    topic_replication_factor=1,
    web_enabled=False,
    datadir=os.environ["FAUST_TEST_DATADIR"],  # Faust's default is a folder in the working directory
)

words = app.topic(os.environ["FAUST_TEST_IN"], key_serializer="raw", value_serializer="raw")
counts_out = app.topic(os.environ["FAUST_TEST_OUT"], key_serializer="raw", value_serializer="raw")
counts = app.Table("counts", default=int, partitions=2)


@app.agent(words)
async def count(stream: faust.StreamT[bytes]) -> None:
    async for key, _value in stream.items():
        word = key.decode()
        counts[word] += 1
        await counts_out.send(key=key, value=str(counts[word]).encode())
