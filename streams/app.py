"""The Faust application: `faust -A streams.app worker`, or `python -m streams` (which `make run` uses).

Settings are parsed once, here, at import. Topics come from the catalog (raw bytes on the wire,
Confluent-framed Avro decoded by the catalog's codecs), tables are keyed by the patient so every
patient-scoped topic, table and decision of one patient lives on one partition and one worker.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import faust
import mode
from confluent_kafka.admin import AdminClient
from faust.types import TP

from process import heap
from schemas.settings import Settings
from schemas.topics import TOPICS, ensure_topics
from streams import summary
from streams.agents.ai import AiBridge
from streams.agents.appointments import Appointments, ReminderTimer
from streams.agents.conversations import Conversations
from streams.agents.delay import DelayService
from streams.agents.dispatcher import Dispatcher
from streams.agents.inbound import ConsentAgent, Inbound
from streams.agents.intake import Intake
from streams.agents.interpreter import Interpreter
from streams.agents.reconciler import Reconciler
from streams.agents.timers import Sweeper, update_lag
from streams.config import StreamsConfig
from streams.decide.records import Message, Patient
from streams.faust_adapter import AdaptedApp, Stream, aiokafka_producer, untrack
from streams.partitioning import partition_for_bytes
from streams.runtime import Record, Runtime
from streams.tables import PatientTable, add_table
from streams.transport import TopicTracker

log = logging.getLogger("carelay.streams")
LAG_INTERVAL_S = 10.0
DEADLINE_TICK_S = 0.5
REMINDER_TICK_S = 1.0
AI_TICK_S = 0.25  # AI replies are due within 3 s: the holding message goes out at most this late
FLOW_CHECK_S = 1.0
# Faust's default is 20 minutes, and it is also the time the broker may hold an acks=all produce
# request: a request caught in a broker restart then blocked the producer's sender that long (every
# send and every commit's flush waited behind it: the worker stopped processing after the restart).
PRODUCER_REQUEST_TIMEOUT_S = 30.0
TEMPLATES_WAIT_S = 30.0  # then start anyway (a template still unknown fails its message, as before)


@dataclass
class Handlers:
    runtime: Runtime
    intake: Intake
    dispatcher: Dispatcher
    interpreter: Interpreter
    reconciler: Reconciler
    inbound: Inbound
    consent: ConsentAgent
    delays: DelayService
    sweeper: Sweeper
    appointments: Appointments
    reminders: ReminderTimer
    ai: AiBridge
    conversations: Conversations

    def assigned(self, partitions: set[int]) -> None:
        """The one notification of a completed assignment (partitions assigned, tables recovered):
        each timer's index over the table starts again from it (the sweeper's post-assignment
        re-issue, the reminder and AI deadline heaps, rebuilt on their next tick)."""
        for listener in (self.sweeper, self.reminders, self.ai):
            listener.assigned(partitions)


class CarelayApp(AdaptedApp):
    """faust.App (with the worker's transport: streams.faust_adapter) plus the start-up work that must
    precede subscribing: topics and the runtime."""

    config: StreamsConfig
    patients: PatientTable
    messages: PatientTable
    handlers: Handlers | None = None
    produced_topics: TopicTracker

    async def on_first_start(self) -> None:
        # Faust creates its data dir without parents: CARELAY_DATA_DIR/streams may not exist yet
        Path(self.conf.datadir).parent.mkdir(parents=True, exist_ok=True)
        await super().on_first_start()
        cfg = self.config
        kafka = cfg.settings.kafka
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
        await asyncio.to_thread(ensure_topics, admin, kafka.topic_prefix, kafka.partitions, kafka.replication_factor)
        rt = await asyncio.to_thread(Runtime, cfg)
        self.produced_topics = TopicTracker()
        rt.bind(self._send_all)
        rt.template_feed.start()
        # a clinic's own templates before the first record: intake and the connectors read the live catalog
        await asyncio.to_thread(rt.template_feed.wait_loaded, TEMPLATES_WAIT_S)
        rt.metrics.serve(cfg.metrics_port)
        args = (rt, self.patients, self.messages)
        ai = AiBridge(*args, self.owned_partitions)
        reminders = ReminderTimer(*args, self.owned_partitions)
        self.handlers = Handlers(rt, Intake(*args), Dispatcher(*args), Interpreter(*args), Reconciler(*args),
                                 Inbound(*args, ai), ConsentAgent(*args), DelayService(rt, self._untrack),
                                 Sweeper(rt, self.patients, self.messages, self.owned_partitions),
                                 Appointments(*args, reminders.due_index), reminders, ai, Conversations(*args))
        log.info("carelay streams ready: group %s, %d partitions, metrics port %s", cfg.app_id, kafka.partitions,
                 cfg.metrics_port or "off")

    async def _send_all(self, records: list[Record]) -> None:
        """Produce records in one batch per topic partition and wait for every acknowledgement.

        aiokafka's batch API costs a fraction of one `send()` per record; Faust's commit still
        flushes this producer before committing offsets. Records without a partition take the
        default partitioner's (murmur2 of the key), as every topic here has the same count."""
        producer = aiokafka_producer(self)
        groups: dict[tuple[str, int], list[tuple[bytes | None, bytes | None]]] = {}
        parts = self.config.partitions
        for topic, key, value, partition in records:
            if partition is None:
                partition = partition_for_bytes(key, parts) if key is not None else 0
            groups.setdefault((topic, partition), []).append((key, value))
        await self.produced_topics.track(producer.client, {topic for topic, _ in groups})
        futures = []
        for (topic, partition), items in groups.items():
            batch = producer.create_batch()
            for key, value in items:
                if batch.append(key=key, value=value, timestamp=None) is None:  # full: send it, start another
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)

    def _untrack(self, event: Any) -> None:
        # parked delay records must not hold up a rebalance or shutdown (streams.faust_adapter.untrack)
        untrack(self, event)

    def owned_partitions(self) -> set[int]:
        if self.rebalancing:
            return set()
        return self.assigned_partitions()

    def assigned_partitions(self) -> set[int]:
        name = TOPICS.dispatch.name(self.config.settings.kafka.topic_prefix)
        return {tp.partition for tp in self.consumer.assignment() if tp.topic == name}

    def h(self) -> Handlers:
        assert self.handlers is not None, "the worker has not started"
        return self.handlers


def broker_urls(bootstrap: str) -> str:
    return ";".join(f"kafka://{server.strip()}" for server in bootstrap.split(",") if server.strip())


def create_app(config: StreamsConfig) -> CarelayApp:
    s = config.settings
    # httpx logs every request at INFO (a record per provider call, URLs included): keep it quiet
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = CarelayApp(
        config.app_id,
        broker=broker_urls(s.kafka.bootstrap),
        store="memory://",
        # Faust's default is "<id>-data" in the working directory; the tables live in memory, but
        # Faust still creates the folder, so keep it with the rest of the local state
        datadir=str(s.data_dir / "streams" / f"{config.app_id}-data"),
        topic_partitions=s.kafka.partitions,
        topic_replication_factor=s.kafka.replication_factor,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=config.standby_replicas,
        producer_linger=s.kafka.linger_ms / 1000,
        Stream=Stream,  # take_events without idle wake-ups (streams.faust_adapter)
        producer_acks=-1,
        producer_request_timeout=PRODUCER_REQUEST_TIMEOUT_S,
        broker_session_timeout=config.session_timeout_s,
        broker_heartbeat_interval=max(0.5, config.session_timeout_s / 10),
        # state lives in memory between a batch and its changelog: a crashed agent must take the
        # worker down (and replay from the last commit) rather than carry on without that batch
        agent_supervisor=mode.CrashingSupervisor,
        # a delay forwarder holds the 3600 s topic's head uncommitted for an hour by design
        broker_commit_livelock_soft_timeout=2 * 3600,
        web_enabled=False,
        loghandlers=[],
    )
    app.config = config
    app.patients = add_table(app, "patients", Patient, s.kafka.partitions)
    app.messages = add_table(app, "messages", Message, s.kafka.partitions)
    _register(app, config)
    return app


def _topic(app: faust.App, name: str) -> Any:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")


def _register(app: CarelayApp, config: StreamsConfig) -> None:
    prefix = config.settings.kafka.topic_prefix
    size, within = config.batch_max, config.batch_within_s

    def batch_agent(topic_attr: str, handler: str) -> None:
        topic = _topic(app, getattr(TOPICS, topic_attr).name(prefix))

        async def agent(stream: Any) -> None:
            async for batch in stream.take_events(size, within=within):
                await getattr(app.h(), handler).handle(batch)

        app.agent(topic, name=f"carelay.{handler}")(agent)

    batch_agent("send_requests", "intake")
    batch_agent("dispatch", "dispatcher")
    batch_agent("webhooks", "interpreter")
    batch_agent("provider_status", "reconciler")
    batch_agent("inbound", "inbound")
    batch_agent("consent", "consent")
    batch_agent("appointments", "appointments")
    batch_agent("ai_responses", "ai")
    batch_agent("conversations", "conversations")

    for delay in TOPICS.delays:
        name = delay.name(prefix)

        def forwarder(topic_name: str) -> Any:
            async def agent(stream: Any) -> None:
                await app.h().delays.consume(topic_name, stream)
            return agent

        app.agent(_topic(app, name), name=f"carelay.{delay.base}")(forwarder(name))

    @app.task
    async def delay_loop() -> None:
        await app.h().delays.run()

    @app.timer(config.reconcile_interval_s)
    async def reconcile() -> None:
        counts = await app.h().sweeper.sweep()
        if counts["polled"] or counts["reissued"] or counts["expired"] or counts["ended_waiting"]:
            log.info("reconciliation sweep: %s", counts)

    @app.timer(DEADLINE_TICK_S)
    async def deadlines() -> None:
        await app.h().sweeper.recover()
        await app.h().sweeper.fire_deadlines()

    @app.timer(REMINDER_TICK_S)
    async def reminders() -> None:
        await app.h().reminders.fire()

    @app.timer(AI_TICK_S)
    async def ai_deadlines() -> None:
        await app.h().ai.fire()

    @app.timer(summary.INTERVAL_S)
    async def pipeline_summary() -> None:
        summary.log_summary(app.h().runtime.summary)

    @app.timer(LAG_INTERVAL_S)
    async def lag() -> None:
        update_lag(app.h().runtime, app.monitor, app.consumer.assignment())

    async def on_revoked(sender: Any, *args: Any, **_: Any) -> None:
        revoked: set[TP] = args[0] if args else set()
        if app.handlers is None:
            return
        # Faust revokes every partition at each rebalance and seeks the new assignment back to the
        # committed offsets, so held (uncommitted) delay records are read again: drop them all here.
        by_topic: dict[str, set[int]] = {}
        for tp in revoked:
            by_topic.setdefault(tp.topic, set()).add(tp.partition)
            app.handlers.runtime.shared_buckets.pop(tp.partition, None)
        app.handlers.delays.revoked(by_topic)

    app.on_partitions_revoked.connect(cast(Any, on_revoked))

    async def on_recovered(sender: Any, **_: Any) -> None:
        # Sent once the tables are recovered, before Faust resumes the stream partitions, seeks them
        # to the committed offsets and then resumes flow control, which empties every stream's
        # queue. Records fetched in between were dropped unprocessed and, where the partition had no
        # committed offset yet, never read again (Faust then committed past them): a SIGKILLed
        # worker's successor lost commands and requests. Fetch nothing until Faust's own
        # `consumer.resume_flow()`, which follows the queue clearing.
        app.consumer.stop_flow()
        if app.handlers is not None:
            app.handlers.assigned(app.assigned_partitions())
        # The recovered tables live as long as the assignment: out of later full collections with
        # the start-up objects (process.heap). Nothing is being processed now, so the pause is free.
        heap.settle()

    app.on_rebalance_complete.connect(cast(Any, on_recovered))

    @app.timer(FLOW_CHECK_S)
    async def flow_guard() -> None:
        # The stop in on_recovered is paired with a resume only if Faust's recovery reaches its own
        # resume_flow(). Faust stops the flow itself only while a rebalance is in progress (revoke to
        # "Worker ready"), so a stopped flow outside one means a rebalance ended without that resume:
        # the worker would hold its partitions and read nothing, for good, and never notice.
        if app.rebalancing or app.should_stop or cast(Any, app.consumer).flow_active:
            return
        log.warning("fetching still stopped after the rebalance ended: resuming it")
        app.consumer.resume_flow()
        app.flow_control.resume()


config = StreamsConfig.from_settings(Settings.from_env())
app = create_app(config)
