"""What the endpoints share within one process, built once by the app's lifespan; and the access guard.

Endpoints reach it as `services(request)`; nothing here is created per request.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from access.keys import AccessDenied, Action, ApiKey, KeyStore, authenticate, authorize
from connectors.instances import ChannelDirectory
from connectors.webhooks import WebhookReceiver
from gateway import errors
from gateway.accepted import AcceptedSendsView
from gateway.appointment_view import AppointmentView
from gateway.audit import ANONYMOUS, Actor, Auditor
from gateway.errors import GatewayError, spec_for
from gateway.idempotency import IdempotencyTable
from gateway.metrics import GatewayMetrics
from gateway.plans import AppointmentPlanView
from gateway.publisher import Publisher
from gateway.refusals import Refusals
from gateway.staff import StaffNotificationView
from gateway.state import MessageStateView
from gateway.unseen import UnseenWatch
from schemas.phi import PhiCipher, Pseudonymizer
from schemas.registry import SchemaRegistry
from schemas.settings import Settings
from schemas.template_feed import TemplateFeed
from schemas.templates import TemplateCatalog
from schemas.topics import Catalog

if TYPE_CHECKING:  # the view's module guards its endpoints with this one
    from gateway.webhook_endpoints import WebhookEndpointView


@dataclass
class Services:
    settings: Settings
    keys: KeyStore
    publisher: Publisher
    audit_publisher: Publisher  # records nobody waits for (gateway.audit)
    registry: SchemaRegistry
    topics: Catalog
    auditor: Auditor
    refusals: Refusals
    state: MessageStateView
    accepted: AcceptedSendsView
    staff: StaffNotificationView
    plans: AppointmentPlanView
    appointments: AppointmentView
    idempotency: IdempotencyTable
    unseen: UnseenWatch
    cipher: PhiCipher
    pseudonymize: Pseudonymizer
    templates: TemplateCatalog  # live: the seed file, then the templates topic (schemas.template_feed)
    template_feed: TemplateFeed
    directory: ChannelDirectory
    metrics: GatewayMetrics
    fingerprint_key: bytes
    webhooks: Mapping[str, WebhookReceiver]  # by provider (connectors.factory.webhook_receivers)
    topics_ready: threading.Event
    webhook_endpoints: WebhookEndpointView  # outbound webhook subscriptions (gateway.webhook_endpoints)


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def remote_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def route_of(request: Request) -> str:
    path = getattr(request.scope.get("route"), "path", None)
    # not request.url: it is built on demand and raises on a query string that is not UTF-8
    return str(path) if path is not None else str(request.scope["path"])


def refuse(request: Request, actor: Actor, action: str, reason: str, exc: GatewayError) -> GatewayError:
    """Record a refusal (gateway.refusals) and return what to raise: `exc`, or a 429 when the source
    address is over its budget."""
    limited = services(request).refusals.record(actor, action, reason, resource=route_of(request),
                                                remote_addr=remote_addr(request))
    return exc if limited is None else limited


def guard(request: Request, action: Action, audit_action: str | None = None) -> ApiKey:
    """Authenticate and authorize, recording a refusal before raising it, under `audit_action` when the
    endpoint's own action differs from the permission it needs."""
    svc = services(request)
    key: ApiKey | None = None
    try:
        key = authenticate(svc.keys, request.headers)
        authorize(key, action)
    except AccessDenied as denied:
        exc = errors.denied(denied)
        actor = Actor.of(key) if key is not None else ANONYMOUS
        raise refuse(request, actor, audit_action or action.value, spec_for(exc).code, exc) from None
    return key
