"""A typed Python client of the gateway's API, sync (`Client`) and async (`AsyncClient`) over httpx.

    from carelay.client import Client, Message, Template
    with Client("https://carelay.clinic.example", api_key) as carelay:
        accepted = carelay.send(Message(to="+525512345678", channels=("WHATSAPP", "SMS"),
                                        template=Template("appointment_reminder", "es", {...}),
                                        idempotency_key="appt-123-24h"))
        state = carelay.get_message(accepted.message_id)

Every refusal raises `ApiError` with the gateway's machine-readable code and the field it names;
`verify_webhook` checks a delivery of the clinic's outbound webhooks (docs/webhooks.md).
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
import orjson

from schemas import webhook_signature

DEFAULT_TIMEOUT_S = 30.0


class ApiError(Exception):
    """The gateway refused a request: `status`, its `code` (`invalid_field`, `unauthenticated`, ...) and the
    `field` it names, if any; `retry_after_s` on a 429 or 503."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" (field {field})" if field else ""))
        self.status, self.code, self.message, self.field, self.retry_after_s = (
            status, code, message, field, retry_after_s)


class WebhookVerificationError(ApiError):
    """A webhook delivery whose signature, id or timestamp does not check out."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "bad_signature", message)


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    """One send: `template` or `text`; `idempotency_key` makes a retry safe (the same key, the same message)."""

    to: str
    idempotency_key: str
    channels: Sequence[str] = ("WHATSAPP", "SMS")
    template: Template | None = None
    text: str | None = None
    priority: str | None = None
    send_at: str | None = None
    expires_at: str | None = None
    appointment_id: str | None = None
    correlation_id: str | None = None
    recipient_name: str | None = None
    patient_ref: str | None = None
    metadata: Mapping[str, str] | None = None

    def body(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"to": self.to, "channels": list(self.channels), "idempotency_key": self.idempotency_key}
        if self.template is not None:
            doc["template"] = {"name": self.template.name, "language": self.template.language,
                               "params": dict(self.template.params)}
        optional = {"text": self.text, "priority": self.priority, "send_at": self.send_at,
                    "expires_at": self.expires_at, "appointment_id": self.appointment_id,
                    "correlation_id": self.correlation_id, "recipient_name": self.recipient_name,
                    "patient_ref": self.patient_ref, "metadata": dict(self.metadata) if self.metadata else None}
        doc.update({k: v for k, v in optional.items() if v is not None})
        return doc


@dataclass(frozen=True)
class Accepted:
    message_id: str
    replayed: bool = False  # an earlier request with the same idempotency key made this message


@dataclass(frozen=True)
class BatchItem:
    index: int
    accepted: Accepted | None
    error: ApiError | None


@dataclass(frozen=True)
class Batch:
    accepted: int
    rejected: int
    items: tuple[BatchItem, ...]


@dataclass(frozen=True)
class MessageState:
    """GET /v1/messages/{id}: the reconciled status, why, and the history (`raw` holds every field)."""

    message_id: str
    status: str
    is_final: bool
    channel: str | None
    reason: str | None
    history: tuple[Mapping[str, Any], ...]
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class WebhookEndpoint:
    endpoint_id: str
    url: str
    event_types: tuple[str, ...]
    status_changes: str
    include_phi: bool
    secret: str | None = None  # only in the answer that created it


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes, *, now_s: int | None = None) -> Any:
    """Check a delivery's Standard Webhooks signature over the raw body; returns the parsed event."""
    try:
        webhook_signature.verify(secret, headers, body, int(time.time()) if now_s is None else now_s)
    except webhook_signature.SignatureError as exc:
        raise WebhookVerificationError(str(exc)) from exc
    return orjson.loads(body)


# -- requests and answers, shared by both clients ----------------------------------------------------

def _check(r: httpx.Response) -> Any:
    if r.status_code < 400:
        return orjson.loads(r.content) if r.content else None
    try:
        err = orjson.loads(r.content)["error"]
        code, message, fld = str(err.get("code")), str(err.get("message")), err.get("field")
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        code, message, fld = "http_error", r.reason_phrase, None
    after = r.headers.get("retry-after")
    raise ApiError(r.status_code, code, message, fld, float(after) if after and after.isdigit() else None)


def _accepted(doc: Mapping[str, Any]) -> Accepted:
    return Accepted(doc["message_id"], bool(doc.get("replayed", False)))


def _sent(r: httpx.Response) -> Accepted:
    """A single send's answer: the replay is told by the `Idempotent-Replayed` header."""
    doc = _check(r)
    return Accepted(doc["message_id"], r.headers.get("idempotent-replayed") == "true")


def _batch(doc: Mapping[str, Any]) -> Batch:
    items = []
    for item in doc["results"]:
        if item["status"] == "accepted":
            items.append(BatchItem(item["index"], _accepted(item), None))
        else:
            err = item.get("error") or {}
            items.append(BatchItem(item["index"], None, ApiError(int(item.get("http_status", 422)),
                                                                 str(err.get("code")), str(err.get("message")),
                                                                 err.get("field"))))
    return Batch(doc["accepted"], doc["rejected"], tuple(items))


def _state(doc: Mapping[str, Any]) -> MessageState:
    return MessageState(doc["message_id"], doc["status"], bool(doc.get("is_final")), doc.get("channel"),
                        doc.get("reason"), tuple(doc.get("history") or ()), doc)


def _endpoint(doc: Mapping[str, Any]) -> WebhookEndpoint:
    return WebhookEndpoint(doc["endpoint_id"], doc["url"], tuple(doc["event_types"]), doc["status_changes"],
                           bool(doc["include_phi"]), doc.get("secret"))


def _subscription(url: str, event_types: Sequence[str], status_changes: str, include_phi: bool) -> dict[str, Any]:
    return {"url": url, "event_types": list(event_types), "status_changes": status_changes,
            "include_phi": include_phi}


def _headers(api_key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {api_key}", "content-type": "application/json"}


def _path(value: str) -> str:
    return quote(value, safe="")


class Client:
    """The gateway's API over a pooled httpx.Client; use it as a context manager or call `close()`."""

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(base_url=base_url, headers=_headers(api_key), timeout=timeout_s,
                                  transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, message: Message) -> Accepted:
        r = self._http.post("/v1/messages", content=orjson.dumps(message.body()),
                            headers={"idempotency-key": message.idempotency_key})
        return _sent(r)

    def send_batch(self, messages: Sequence[Message], *, idempotency_key: str | None = None) -> Batch:
        headers = {"idempotency-key": idempotency_key} if idempotency_key else {}
        r = self._http.post("/v1/messages:batch", content=orjson.dumps({"items": [m.body() for m in messages]}),
                            headers=headers)
        return _batch(_check(r))

    def get_message(self, message_id: str) -> MessageState:
        return _state(_check(self._http.get(f"/v1/messages/{_path(message_id)}")))

    def get_appointment(self, appointment_id: str) -> dict[str, Any]:
        """The appointment's reminder plan (GET /v1/appointments/{id})."""
        doc: dict[str, Any] = _check(self._http.get(f"/v1/appointments/{_path(appointment_id)}"))
        return doc

    def create_webhook_endpoint(self, url: str, event_types: Sequence[str], *, status_changes: str = "final",
                                include_phi: bool = False) -> WebhookEndpoint:
        body = _subscription(url, event_types, status_changes, include_phi)
        return _endpoint(_check(self._http.post("/v1/webhook-endpoints", content=orjson.dumps(body))))

    def list_webhook_endpoints(self) -> list[WebhookEndpoint]:
        return [_endpoint(e) for e in _check(self._http.get("/v1/webhook-endpoints"))["webhook_endpoints"]]

    def delete_webhook_endpoint(self, endpoint_id: str) -> None:
        _check(self._http.delete(f"/v1/webhook-endpoints/{_path(endpoint_id)}"))


class AsyncClient:
    """The same API over httpx.AsyncClient: `async with AsyncClient(...) as carelay: await carelay.send(...)`."""

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, headers=_headers(api_key), timeout=timeout_s,
                                       transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object | TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, message: Message) -> Accepted:
        r = await self._http.post("/v1/messages", content=orjson.dumps(message.body()),
                                  headers={"idempotency-key": message.idempotency_key})
        return _sent(r)

    async def send_batch(self, messages: Sequence[Message], *, idempotency_key: str | None = None) -> Batch:
        headers = {"idempotency-key": idempotency_key} if idempotency_key else {}
        r = await self._http.post("/v1/messages:batch",
                                  content=orjson.dumps({"items": [m.body() for m in messages]}), headers=headers)
        return _batch(_check(r))

    async def get_message(self, message_id: str) -> MessageState:
        return _state(_check(await self._http.get(f"/v1/messages/{_path(message_id)}")))

    async def get_appointment(self, appointment_id: str) -> dict[str, Any]:
        doc: dict[str, Any] = _check(await self._http.get(f"/v1/appointments/{_path(appointment_id)}"))
        return doc

    async def create_webhook_endpoint(self, url: str, event_types: Sequence[str], *, status_changes: str = "final",
                                      include_phi: bool = False) -> WebhookEndpoint:
        body = _subscription(url, event_types, status_changes, include_phi)
        return _endpoint(_check(await self._http.post("/v1/webhook-endpoints", content=orjson.dumps(body))))

    async def list_webhook_endpoints(self) -> list[WebhookEndpoint]:
        doc = _check(await self._http.get("/v1/webhook-endpoints"))
        return [_endpoint(e) for e in doc["webhook_endpoints"]]

    async def delete_webhook_endpoint(self, endpoint_id: str) -> None:
        _check(await self._http.delete(f"/v1/webhook-endpoints/{_path(endpoint_id)}"))
