"""The topic catalog: every topic carelay uses, its key, value contract and configuration, declared once.

Nothing else in the code base spells a topic name: use `TOPICS.<attr>.name(prefix)` or the bound
`Catalog` that `bind()` returns. Names are the prefix (`CARELAY_TOPIC_PREFIX`, default "carelay.")
plus the base name below.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.codec import AvroCodec
from schemas.errors import CarelayError
from schemas.registry import SchemaRegistry

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Topic:
    base: str
    value_type: str
    key: str  # what the key holds; documentation, and the README's topic table
    retention_ms: int = 7 * DAY_MS
    compacted: bool = False
    partitions: int | None = None  # None: the cluster-wide setting (CARELAY_KAFKA_PARTITIONS)
    extra: dict[str, str] = field(default_factory=dict)

    def name(self, prefix: str) -> str:
        return prefix + self.base

    def config(self) -> dict[str, str]:
        cfg = {"retention.ms": str(self.retention_ms), "cleanup.policy": "compact" if self.compacted else "delete"}
        if self.compacted:
            # tombstones and superseded values may go after a day; the latest value per key stays
            cfg["delete.retention.ms"] = str(DAY_MS)
            cfg["min.compaction.lag.ms"] = "60000"
        cfg.update(self.extra)
        return cfg


# Fixed-delay topics: a record waits on the shortest topic whose delay covers its due time, so a
# consumer only ever sleeps until the head of its own topic is due (design-notes: "Time").
DELAY_STEPS_S = (1, 10, 60, 600, 3600)


@dataclass(frozen=True)
class _Catalog:
    send_requests: Topic = Topic("send.requests", "SendRequest", "recipient_id")
    dispatch: Topic = Topic("dispatch.commands", "DispatchCommand", "recipient_id")
    webhooks: Topic = Topic("webhooks.raw", "WebhookEnvelope", "recipient_id (or provider message id)")
    provider_status: Topic = Topic("provider.status", "ProviderStatus", "recipient_id")
    inbound: Topic = Topic("inbound.messages", "InboundMessage", "recipient_id")
    consent: Topic = Topic("consent", "ConsentChange", "organization_id|recipient_id|channel",
                           retention_ms=-1, compacted=True)
    outcomes: Topic = Topic("delivery.outcomes", "DeliveryOutcome", "recipient_id", retention_ms=30 * DAY_MS)
    message_state: Topic = Topic("message.state", "MessageState", "message_id",
                                 retention_ms=-1, compacted=True)
    audit: Topic = Topic("audit", "AuditRecord", "organization_id or actor", retention_ms=30 * DAY_MS)
    dead_letter: Topic = Topic("deadletter", "DeadLetter", "original key", retention_ms=30 * DAY_MS)
    circuit: Topic = Topic("circuit.events", "CircuitEvent", "channel_instance", retention_ms=30 * DAY_MS)
    inapp: Topic = Topic("inapp.notifications", "InAppNotification", "recipient_id")
    # care workflows: appointments in, business events out, staff alerts, the AI agent bridge
    appointments: Topic = Topic("appointments", "AppointmentEvent", "recipient_id", retention_ms=30 * DAY_MS)
    appointment_events: Topic = Topic("appointment.events", "CareEvent", "recipient_id", retention_ms=30 * DAY_MS)
    staff_notifications: Topic = Topic("staff.notifications", "CareEvent", "recipient_id",
                                       retention_ms=30 * DAY_MS)
    # each appointment's reminder plan, for GET /v1/appointments/{id}: the latest per appointment, kept
    # 30 days after its last change (compacted, then deleted)
    appointment_plans: Topic = Topic("appointment.plans", "AppointmentPlan", "organization_id|appointment_id",
                                     retention_ms=30 * DAY_MS, compacted=True,
                                     extra={"cleanup.policy": "compact,delete"})
    # the staff console (gateway/console): accounts (the latest version of each), sign-in events (failures
    # counted for lock-out, sessions ended by sign-out), and what people did with each staff notice
    staff_accounts: Topic = Topic("staff.accounts", "StaffAccount", "organization_id|username",
                                  retention_ms=-1, compacted=True)
    staff_signins: Topic = Topic("staff.signins", "StaffSignIn", "organization_id|username", retention_ms=DAY_MS)
    staff_actions: Topic = Topic("staff.actions", "StaffAction", "organization_id|notice event_id",
                                 retention_ms=30 * DAY_MS, compacted=True, extra={"cleanup.policy": "compact,delete"})
    # a dead letter put back on its topic from the console: the audit record of the replay (who, why), kept
    # per dead letter so every gateway process refuses a second replay of it
    deadletter_replays: Topic = Topic("deadletter.replays", "AuditRecord", "deadletter partition-offset",
                                      retention_ms=30 * DAY_MS, compacted=True,
                                      extra={"cleanup.policy": "compact,delete"})
    # message templates (schemas.templates): the latest version per organization and name, read whole by
    # every gateway and worker; one partition, so every reader sees the versions in the order written
    templates: Topic = Topic("templates", "TemplateVersion", "organization_id|name", retention_ms=-1,
                             compacted=True, partitions=1)
    # the patient page's links (gateway/patient): what each opaque token opens, and the device it is bound to;
    # a tombstone revokes one. Kept 30 days after the last change, longer than any link lives.
    patient_links: Topic = Topic("patient.links", "PatientLink", "link_id", retention_ms=30 * DAY_MS, compacted=True,
                                 extra={"cleanup.policy": "compact,delete"})
    # the clinic's FHIR Slots (gateway/fhir_slots.py): the latest of each, for rebooking offers
    slots: Topic = Topic("slots", "Slot", "organization_id|slot_id", retention_ms=30 * DAY_MS, compacted=True,
                         extra={"cleanup.policy": "compact,delete"})
    ai_requests: Topic = Topic("ai.requests", "AiMessage", "recipient_id")
    # staff commands on a patient's conversation (type conversation.resume), for the worker owning the patient
    conversations: Topic = Topic("conversation.commands", "CareEvent", "recipient_id", retention_ms=30 * DAY_MS)
    ai_responses: Topic = Topic("ai.responses", "AiMessage", "recipient_id")
    # outbound webhooks to the clinic (docs/webhooks.md): subscriptions, one record per event and endpoint
    # (keyed by endpoint so each endpoint's events keep their order), and every attempt's outcome
    webhook_endpoints: Topic = Topic("webhook.endpoints", "WebhookEndpoint", "organization_id|endpoint_id",
                                     retention_ms=-1, compacted=True)
    webhook_deliveries: Topic = Topic("webhook.deliveries", "WebhookDelivery", "endpoint_id")
    webhook_attempts: Topic = Topic("webhook.attempts", "WebhookAttempt", "endpoint_id", retention_ms=30 * DAY_MS)
    delays: tuple[Topic, ...] = tuple(
        Topic(f"delay.{s}s", "DelayedRecord", "original key", retention_ms=7 * DAY_MS) for s in DELAY_STEPS_S
    )

    def all(self) -> list[Topic]:
        singles = [v for v in vars(self).values() if isinstance(v, Topic)]
        return [*singles, *self.delays]


TOPICS = _Catalog()


class TopicSetupError(CarelayError):
    """Topics could not be created or do not match the catalog."""


def ensure_topics(
    admin: AdminClient, prefix: str, partitions: int, replication: int, *, timeout_s: float = 30.0,
    topics: Iterable[Topic] | None = None,
) -> list[str]:
    """Create missing catalog topics; idempotent. Returns the names it created."""
    wanted = list(TOPICS.all() if topics is None else topics)
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    new = [
        NewTopic(t.name(prefix), num_partitions=t.partitions or partitions, replication_factor=replication,
                 config=t.config())
        for t in wanted if t.name(prefix) not in existing
    ]
    if not new:
        return []
    created = []
    for name, future in admin.create_topics(new, operation_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":  # a racing worker created it first
                raise TopicSetupError(f"could not create topic {name}: {exc.args[0].str()}") from exc
    return created


@dataclass(frozen=True)
class BoundTopic:
    """A catalog topic with its real name and its codec, as the I/O shells use it."""

    topic: Topic
    name: str
    codec: AvroCodec


class Catalog:
    """The topic catalog bound to a prefix and a registry: `catalog.send_requests.codec.encode(...)`."""

    def __init__(self, prefix: str, registry: SchemaRegistry) -> None:
        self.prefix = prefix
        self._bound: dict[str, BoundTopic] = {}
        for topic in TOPICS.all():
            name = topic.name(prefix)
            self._bound[topic.base] = BoundTopic(topic, name, AvroCodec(topic.value_type, f"{name}-value", registry))

    def __getattr__(self, attr: str) -> BoundTopic:
        topic = getattr(TOPICS, attr, None)
        if not isinstance(topic, Topic):
            raise AttributeError(attr)
        return self._bound[topic.base]

    def by_name(self, name: str) -> BoundTopic:
        return self._bound[name.removeprefix(self.prefix)]

    def delay_topics(self) -> list[BoundTopic]:
        return [self._bound[t.base] for t in TOPICS.delays]
