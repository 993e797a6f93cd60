"""The gateway's wiring: `create_app()` builds the Starlette app; its lifespan owns the Kafka clients.

Run: `uvicorn gateway.app:create_app --factory --workers N`. Settings are parsed once here
(`Settings.from_env()` unless given) and handed down; each worker process has one Producer, one
message-state reader and one schema-registry client, created at start-up and never per request.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from access.keys import KeyStore
from connectors.factory import webhook_receivers
from connectors.instances import load_directory
from gateway import (
    alerts,
    appointments,
    conversations,
    errors,
    fhir,
    health,
    reads,
    sends,
    webhook_endpoints,
    webhooks,
)
from gateway.accepted import AcceptedSendsView
from gateway.appointment_view import AppointmentView
from gateway.audit import Auditor
from gateway.console import context as console_context
from gateway.console import routes as console_routes
from gateway.idempotency import IdempotencyTable
from gateway.metrics import GatewayMetrics, MetricsMiddleware
from gateway.openapi import build_document
from gateway.patient import api as patient_api
from gateway.patient import context as patient_context
from gateway.patient import routes as patient_routes
from gateway.plans import AppointmentPlanView
from gateway.publisher import Publisher
from gateway.refusals import Refusals, SourceLimiter
from gateway.services import Services
from gateway.staff import StaffNotificationView
from gateway.state import MessageStateView
from gateway.unseen import UnseenWatch
from process import heap
from schemas.phi import PhiCipher, Pseudonymizer
from schemas.registry import registry_from_url
from schemas.settings import Settings
from schemas.template_feed import TemplateFeed
from schemas.templates import TemplateCatalog
from schemas.topics import Catalog, TopicSetupError, ensure_topics

log = logging.getLogger(__name__)

TOPIC_SETUP_TIMEOUT_S = 5.0
TOPIC_SETUP_RETRY_S = 1.0


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    keys = KeyStore.from_settings(settings.gateway.api_keys_file, settings.env,
                                 demo_keys=settings.gateway.demo_api_keys)  # fail fast on a bad file
    metrics = GatewayMetrics()
    openapi_body = orjson.dumps(build_document(settings.gateway))

    async def openapi(request: Request) -> Response:
        return Response(openapi_body, media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        svc = _build_services(settings, keys, metrics)
        setup = TopicSetup(settings)
        svc.topics_ready = setup.done
        setup.start()
        svc.publisher.start()
        svc.audit_publisher.start()
        svc.state.start()
        svc.accepted.start()
        svc.staff.start()
        svc.plans.start()
        svc.appointments.start()
        svc.template_feed.start()
        svc.webhook_endpoints.start()
        app.state.services = svc
        app.state.console = console = console_context.build(svc)
        console.start()
        app.state.patient_page = patient = patient_context.build(svc)
        patient.start()
        watcher = asyncio.create_task(_watch_unseen(svc), name="gateway-unseen")
        heap.settle()  # before the first request: start-up objects stay out of full collections
        try:
            yield
        finally:
            watcher.cancel()
            setup.close()
            svc.state.close()
            svc.accepted.close()
            svc.staff.close()
            svc.plans.close()
            svc.appointments.close()
            svc.template_feed.close()
            svc.webhook_endpoints.close()
            svc.refusals.flush_log()
            console.close()
            patient.close()
            svc.auditor.flush_tally()
            left = await svc.publisher.aclose() + await svc.audit_publisher.aclose()
            if left:
                log.warning("%d records were still undelivered at shutdown", left)
            _close_registry(svc.registry)

    routes = [
        # the router tries routes in order: the busiest (sends, then provider callbacks) first
        Route("/v1/messages", sends.send_one, methods=["POST"]),
        *(Route(path, endpoint, methods=methods) for path, endpoint, methods in webhooks.ROUTES),
        Route("/v1/messages:batch", sends.send_batch, methods=["POST"]),
        Route("/v1/messages/{message_id}", reads.get_message, methods=["GET"]),
        Route("/v1/templates", reads.list_templates, methods=["GET"]),
        Route("/v1/staff/notifications", reads.list_notifications, methods=["GET"]),
        Route(appointments.PATH, appointments.get_appointment, methods=["GET"]),
        *(Route(path, endpoint, methods=methods) for path, endpoint, methods in conversations.ROUTES),
        *(Route(path, endpoint, methods=methods) for path, endpoint, methods in alerts.ROUTES),
        *(Route(path, endpoint, methods=methods) for path, endpoint, methods in fhir.ROUTES),
        *(Route(path, endpoint, methods=methods) for path, endpoint, methods in webhook_endpoints.ROUTES),
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        console_routes.mount(),  # the staff console's pages (gateway/console, docs/console.md)
        *(Route(path, endpoint, methods=methods) for path, endpoint, methods in patient_api.ROUTES),
        patient_routes.mount(),  # the patient page (gateway/patient, docs/patient-page.md)
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(MetricsMiddleware, metrics=metrics)],
        exception_handlers=errors.exception_handlers(),
        lifespan=lifespan,
    )


def configure_logging(level: str) -> None:
    """The gateway's own log lines at CARELAY_LOG_LEVEL (INFO: refusals, topic set-up). uvicorn
    configures only its own loggers, so without a handler here Python's last resort would print
    WARNING and above and drop the rest. A host that set up logging itself keeps its handlers."""
    logger = logging.getLogger("gateway")
    logger.setLevel(level)
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


def _build_services(settings: Settings, keys: KeyStore, metrics: GatewayMetrics) -> Services:
    k = settings.kafka
    registry = registry_from_url(k.schema_registry_url)
    topics = Catalog(k.topic_prefix, registry)
    g = settings.gateway
    publisher = Publisher(k.bootstrap, linger_ms=g.linger_ms, send_timeout_s=k.send_timeout_s,
                          observe=metrics.observe_publish, on_renew=metrics.producer_renewals.inc,
                          extra_config={"queue.buffering.max.messages": g.queue_max_messages})
    # records nobody waits for (refusal counts, rejections, tallies): their own queue, never a send's place
    audit_publisher = Publisher(k.bootstrap, linger_ms=k.linger_ms, send_timeout_s=k.send_timeout_s,
                                on_renew=metrics.producer_renewals.inc,
                                extra_config={"queue.buffering.max.messages": g.audit_queue_max_messages,
                                              "client.id": "carelay-gateway-audit"})
    state = MessageStateView(k.bootstrap, topics.message_state.name, topics.message_state.codec)
    auditor = Auditor(publisher, topics.audit, on_lost=metrics.audit_lost.inc, background=audit_publisher)
    templates = TemplateCatalog.from_file()  # the seeds, then the templates topic's records over them
    return Services(
        settings=settings,
        keys=keys,
        publisher=publisher,
        registry=registry,
        topics=topics,
        audit_publisher=audit_publisher,
        auditor=auditor,
        refusals=Refusals(auditor, SourceLimiter(g.refusals_per_minute), metrics),
        state=state,
        accepted=AcceptedSendsView(k.bootstrap, topics.send_requests.name, topics.send_requests.codec, state.has),
        staff=StaffNotificationView(k.bootstrap, topics.staff_notifications.name, topics.staff_notifications.codec,
                                    g.staff_view_size),
        plans=AppointmentPlanView(k.bootstrap, topics.appointment_plans.name, topics.appointment_plans.codec),
        appointments=AppointmentView(k.bootstrap, topics.appointments.name, topics.appointments.codec),
        idempotency=IdempotencyTable(),
        unseen=UnseenWatch(int(g.unseen_after_s * 1000)),
        cipher=PhiCipher(settings.phi_keys, accept_unbound=settings.phi_accept_unbound),
        pseudonymize=Pseudonymizer(settings.pseudonym_key_bytes),
        templates=templates,
        template_feed=TemplateFeed(k.bootstrap, topics.templates.name, topics.templates.codec, templates),
        directory=load_directory(settings),
        metrics=metrics,
        fingerprint_key=os.urandom(32),  # fingerprints never leave the process
        webhooks=webhook_receivers(settings),
        topics_ready=threading.Event(),
        webhook_endpoints=webhook_endpoints.WebhookEndpointView(k.bootstrap, topics.webhook_endpoints.name,
                                                                topics.webhook_endpoints.codec),
    )


class TopicSetup:
    """Creates the catalog's missing topics (idempotent), retrying in the background while Kafka is
    down, so the gateway starts anyway, answers 503 and reports not-ready until the broker is back."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway-topics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        # a daemon thread: when Kafka is down it may sit in a metadata request; it exits right after
        self._thread.join(timeout=0.5)

    def _run(self) -> None:
        k = self._settings.kafka
        config: dict[str, Any] = {"bootstrap.servers": k.bootstrap, "socket.connection.setup.timeout.ms": 3000,
                                  "logger": logging.getLogger("gateway.librdkafka.admin")}
        admin = AdminClient(config)
        while not self._stop.is_set():
            try:
                created = ensure_topics(admin, k.topic_prefix, k.partitions, k.replication_factor,
                                        timeout_s=TOPIC_SETUP_TIMEOUT_S)
                if created:
                    log.info("created %d topics", len(created))
                self.done.set()
                return
            except (KafkaException, TopicSetupError) as exc:
                log.warning("topics not ensured yet (Kafka unreachable?): %s", type(exc).__name__)
            self._stop.wait(TOPIC_SETUP_RETRY_S)


async def _watch_unseen(svc: Services) -> None:
    """Every few seconds, the accepted sends the stream workers have still not picked up (gateway/unseen.py)."""
    watch = svc.unseen
    after_s = watch.after_ms / 1000
    dropped = 0
    while True:
        await asyncio.sleep(min(5.0, after_s / 2))
        unseen = watch.sweep(int(time.time() * 1000), svc.state.has)
        if unseen:
            svc.metrics.unseen_accepts.inc(len(unseen))
            log.warning("%d accepted sends have no state from the stream workers %g s later (the pipeline is far "
                        "behind, or lost them): %s", len(unseen), after_s, " ".join(unseen[:20]))
        if watch.dropped > dropped:
            log.warning("%d accepted sends went unchecked: more than %d were waiting for their check",
                        watch.dropped - dropped, watch.capacity)
            dropped = watch.dropped


def _close_registry(registry: object) -> None:
    """Close the registry client's HTTP session (SchemaRegistry has no close() yet; fall back to its
    Confluent client, which has one), so no socket outlives the app."""
    close = getattr(registry, "close", None) or getattr(getattr(registry, "_client", None), "close", None)
    if callable(close):
        close()
