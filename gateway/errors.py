"""The gateway's exceptions and the one table that turns any of them into an HTTP error response.

Endpoints raise; they never build error responses themselves. The table is looked up along the
exception's class hierarchy (most specific class first), like Starlette's own handler lookup, so a
new subclass inherits its parent's status until it gets its own row. Messages never carry PHI:
they name the field, never its value.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from access import keys
from schemas.errors import CarelayError, ContractError, TemplateParameterError, UnknownTemplateError

log = logging.getLogger(__name__)


class GatewayError(CarelayError):
    """Root of the errors the gateway raises on purpose; `field` names the offending input field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class MalformedBody(GatewayError):
    """The body is not valid JSON / form data, or not the expected top-level shape."""


class InvalidField(GatewayError):
    """A field is missing, has the wrong type or an out-of-range value."""


class InvalidNumber(InvalidField):
    """A phone number is not E.164."""


class InvalidTime(InvalidField):
    """send_at / expires_at are malformed, in the past, or inconsistent."""


class UnknownTemplate(InvalidField):
    """The template or its language is not in the catalog."""


class InvalidTemplateParams(InvalidField):
    """Template parameters missing, extra, or out of bounds."""


class TooManyItems(InvalidField):
    """A batch carries more items than settings.gateway.max_batch_items."""


class BodyTooLarge(GatewayError):
    """The body exceeds settings.gateway.max_body_bytes (by Content-Length or while reading)."""


class Unauthenticated(GatewayError):
    """No API key, or an unknown one."""


class Forbidden(GatewayError):
    """The key's role does not allow the action."""


class BadSignature(GatewayError):
    """A provider webhook's signature is missing or does not verify."""


class NotFound(GatewayError):
    """Unknown resource, or one that belongs to another organization (indistinguishable on purpose)."""


class IdempotencyConflict(GatewayError):
    """The idempotency key was already used with a different body."""


class Unavailable(GatewayError):
    """Kafka did not take the record within the send timeout: the client should retry later."""

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TooManyRefusals(GatewayError):
    """The source address was refused more than CARELAY_GATEWAY_REFUSALS_PER_MINUTE times (gateway.refusals)."""

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


def denied(exc: keys.AccessDenied) -> GatewayError:
    """access.keys' refusal as the gateway answers it: 401 for no key or an unknown one, else 403."""
    return Unauthenticated(str(exc)) if isinstance(exc, keys.Unauthenticated) else Forbidden(str(exc))


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    code: str


# THE table. Looked up by walking type(exc).__mro__; the first class found wins.
ERROR_TABLE: dict[type[BaseException], ErrorSpec] = {
    MalformedBody: ErrorSpec(400, "malformed_body"),
    InvalidField: ErrorSpec(422, "invalid_field"),
    InvalidNumber: ErrorSpec(422, "invalid_phone_number"),
    InvalidTime: ErrorSpec(422, "invalid_time"),
    TooManyItems: ErrorSpec(422, "too_many_items"),
    UnknownTemplate: ErrorSpec(422, "unknown_template"),
    InvalidTemplateParams: ErrorSpec(422, "invalid_template_params"),
    UnknownTemplateError: ErrorSpec(422, "unknown_template"),
    TemplateParameterError: ErrorSpec(422, "invalid_template_params"),
    ContractError: ErrorSpec(422, "contract_violation"),
    BodyTooLarge: ErrorSpec(413, "body_too_large"),
    Unauthenticated: ErrorSpec(401, "unauthenticated"),
    Forbidden: ErrorSpec(403, "forbidden"),
    BadSignature: ErrorSpec(403, "bad_signature"),
    NotFound: ErrorSpec(404, "not_found"),
    IdempotencyConflict: ErrorSpec(409, "idempotency_conflict"),
    Unavailable: ErrorSpec(503, "unavailable"),
    TooManyRefusals: ErrorSpec(429, "too_many_refusals"),
}
_INTERNAL = ErrorSpec(500, "internal")

# Starlette's own HTTPException (unknown route, wrong method) keeps its status; these name its code.
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "malformed_body"}


def spec_for(exc: BaseException) -> ErrorSpec:
    for cls in type(exc).__mro__:
        spec = ERROR_TABLE.get(cls)
        if spec is not None:
            return spec
    return _INTERNAL


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(exc: BaseException) -> Response:
    """The one place an exception becomes a response: status and code from ERROR_TABLE."""
    headers: dict[str, str] = {}
    if isinstance(exc, HTTPException):
        status, code = exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error")
        message, field = str(exc.detail), None
        headers.update(exc.headers or {})
    else:
        spec = spec_for(exc)
        status, code = spec.status, spec.code
        if isinstance(exc, GatewayError):
            message, field = exc.message, exc.field
        elif spec is _INTERNAL:
            # Never str(exc): a vendor message may quote input values.
            log.error("unhandled %s in the gateway", type(exc).__name__, exc_info=exc)
            message, field = "internal error", None
        else:
            message, field = str(exc), None  # carelay's own errors never carry PHI
        if isinstance(exc, Unavailable | TooManyRefusals):
            headers["Retry-After"] = str(exc.retry_after_s)
        if isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = 'Bearer realm="carelay"'
    return Response(orjson.dumps(error_body(code, message, field)), status, headers,
                    media_type="application/json")


async def handle(request: Request, exc: Exception) -> Response:
    return error_response(exc)


def exception_handlers() -> dict[Any, Any]:
    """For `Starlette(exception_handlers=...)`: every exception goes through `error_response`.

    The table's classes are handled by Starlette's ExceptionMiddleware; `Exception` is the
    ServerErrorMiddleware's last resort (a bug: it answers 500 in our format, then re-raises).
    """
    handlers: dict[Any, Any] = {cls: handle for cls in ERROR_TABLE}
    handlers[CarelayError] = handle
    handlers[HTTPException] = handle
    handlers[Exception] = handle
    return handlers
