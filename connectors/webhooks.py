"""The provider-neutral webhook interface: what the gateway hands a provider package, what it gets back.

The gateway owns HTTP (reading the body within its limit, refusing, publishing, auditing); each provider
package owns its routes, its signature check and how one callback splits into items
(connectors/<provider>/webhooks.py). The streams turn an item back into a canonical record with the
same package's `interpret` (connectors/<provider>/parse.py), found through connectors.factory.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from schemas.phi import PhiCipher, Pseudonymizer

# the responses every webhook operation shares; the gateway's OpenAPI document describes them
SHARED_ERRORS: tuple[str, ...] = ("400", "403", "413", "429", "503")


class MalformedWebhook(ValueError):
    """The body is readable but not the shape the provider sends (the gateway answers 400 with this text)."""


@dataclass(frozen=True)
class WebhookRoute:
    """One URL a provider calls. `kind` is the package's own name for it, handed back with each request."""

    path: str
    method: str  # "POST": a callback (verified, split into items); "GET": a subscription handshake
    kind: str
    action: str  # the audit action
    order: int  # the gateway mounts routes in this order: the busiest callbacks first
    operation: Mapping[str, Any]  # the OpenAPI operation; the gateway adds `shared_errors` to its responses
    shared_errors: tuple[str, ...] = SHARED_ERRORS
    refusal: str = "bad_signature"  # the audited reason when verification fails


class WebhookBody(Protocol):
    """A received callback as the gateway read it. `form()` and `json()` raise the gateway's own
    malformed-body error (a 400 naming what is wrong)."""

    path: str
    raw: bytes
    query: str | None  # the query string as received, UTF-8; None when it is not UTF-8
    public_url: str  # the gateway's base URL as providers call it (no trailing /)

    def header(self, name: str) -> str | None: ...

    def param(self, name: str) -> str: ...  # a query parameter ("" when absent)

    def form(self) -> Mapping[str, list[str]]: ...  # {name: values in order}

    def json(self) -> Any: ...


@dataclass(frozen=True)
class WebhookItem:
    """One status, message or event of a callback, to be sealed into a WebhookEnvelope."""

    kind: str
    fields: Mapping[str, Any]
    query: Mapping[str, str]  # our references and routing metadata
    organization_id: str | None
    patient: str | None  # E.164, or None when not a patient's number
    fallback_key: str | None  # the envelope's key when there is no patient; None: the envelope id


# the organization whose channel instance received a callback, by that instance's address
OrganizationFor = Callable[[str], str | None]


class WebhookReceiver(Protocol):
    """A provider's webhook side, built once from Settings (connectors.factory.webhook_receivers)."""

    provider: str  # the provider name the envelopes carry

    def verified(self, route: WebhookRoute, body: WebhookBody) -> bool:
        """The callback's signature holds (constant-time compare). May read the form (a 400 first)."""
        ...

    def items(self, route: WebhookRoute, body: WebhookBody, organization_for: OrganizationFor) -> list[WebhookItem]:
        """The verified callback's items; raises MalformedWebhook for a body of the wrong shape."""
        ...

    def answer(self, route: WebhookRoute) -> tuple[bytes, str | None]:
        """The 200 body and media type the provider expects."""
        ...

    def handshake(self, route: WebhookRoute, body: WebhookBody) -> str | None:
        """A GET route's answer (a challenge to echo), or None to refuse it."""
        ...


@dataclass(frozen=True)
class ParseContext:
    """What interpreting an envelope needs from the streams' runtime."""

    organization_for: Callable[[str, str], str | None]  # (provider, receiving address) -> organization
    pseudonymize: Pseudonymizer
    cipher: PhiCipher


# (provider, envelope kind, body, query, received_at, context) -> ("status" | "inbound" | kind, record or None)
Interpret = Callable[[str, str, Mapping[str, Any], Mapping[str, str], int | None, ParseContext],
                     tuple[str, dict[str, Any] | None]]
