"""POST /v1/ops/alerts: Alertmanager's webhook receiver. Each alert it sends (firing or resolved)
becomes a staff notice (`staff.attention_needed` on `staff.notifications`, reason `ops_alert` or
`ops_alert_resolved`) in the key's organization, so the console's inbox shows an outage without anyone
watching a dashboard (docs/monitoring.md).

Only an `ops` key may post (Alertmanager sends it as a bearer token). Event ids derive from the
alert's fingerprint, start and status, so Alertmanager's repeats collapse into one notice. The alert
rules' labels are codes, channel instances, jobs and hash buckets, never PHI; what a notice carries is
the alert's name, severity, runbook, summary and those labels, each cut to a bounded length.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from access.keys import Action
from gateway.audit import ALLOWED, ERROR, Actor
from gateway.body import parse_json, read_body
from gateway.errors import InvalidField, spec_for
from gateway.services import guard, remote_addr, services

PATH = "/v1/ops/alerts"
ACTION = "ops.alerts.notify"
ATTENTION = "staff.attention_needed"
FIRING, RESOLVED = "firing", "resolved"
REASONS = {FIRING: "ops_alert", RESOLVED: "ops_alert_resolved"}
RECIPIENT = "operations"  # not a patient: the notices' key and recipient
MAX_ALERTS = 100
MAX_LABELS = 20
MAX_VALUE_CHARS = 300
_FINGERPRINT = re.compile(r"[0-9A-Za-z]{1,64}")
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Alertmanager writes nanoseconds; Python reads microseconds


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidField(f"{field} must be a string", field=field)
    return value[:MAX_VALUE_CHARS]


def _millis(value: object, field: str) -> int:
    text = _text(value, field)
    try:
        return int(datetime.fromisoformat(_FRACTION.sub(r"\1", text).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise InvalidField(f"{field} must be an RFC 3339 time", field=field) from None


def _labels(value: object, field: str) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > MAX_LABELS:
        raise InvalidField(f"{field} must be an object of at most {MAX_LABELS} strings", field=field)
    return {str(k)[:64]: _text(v, f"{field}.{k}") for k, v in value.items()}


def notices(payload: Any, organization_id: str) -> list[dict[str, Any]]:
    """The CareEvents for one Alertmanager webhook body (version 4); InvalidField names what is wrong."""
    if not isinstance(payload, dict):
        raise InvalidField("the body must be Alertmanager's webhook JSON object", field="body")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not 0 < len(alerts) <= MAX_ALERTS:
        raise InvalidField(f"alerts must be a list of 1 to {MAX_ALERTS} alerts", field="alerts")
    events = []
    for i, alert in enumerate(alerts):
        at = f"alerts[{i}]"
        if not isinstance(alert, dict):
            raise InvalidField(f"{at} must be an object", field=at)
        status = alert.get("status")
        if status not in REASONS:
            raise InvalidField(f"{at}.status must be firing or resolved", field=f"{at}.status")
        labels = _labels(alert.get("labels"), f"{at}.labels")
        if not labels.get("alertname"):
            raise InvalidField(f"{at}.labels.alertname is required", field=f"{at}.labels.alertname")
        annotations = _labels(alert.get("annotations") or {}, f"{at}.annotations")
        fingerprint = alert.get("fingerprint")
        if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
            raise InvalidField(f"{at}.fingerprint must be 1 to 64 letters or digits", field=f"{at}.fingerprint")
        starts = _millis(alert.get("startsAt"), f"{at}.startsAt")
        details = {"status": status, "starts_at": str(starts), "fingerprint": fingerprint,
                   "summary": annotations.get("summary", "")}
        details |= {f"label.{k}": v for k, v in labels.items()}
        events.append({
            "event_id": f"ops-alert:{fingerprint}:{starts}:{status}", "type": ATTENTION,
            "organization_id": organization_id, "recipient_id": RECIPIENT, "appointment_id": None,
            "message_id": None, "reason": REASONS[status], "channel": "UNKNOWN", "language": None, "text": None,
            "correlation_id": None,
            "occurred_at": _millis(alert.get("endsAt"), f"{at}.endsAt") if status == RESOLVED else starts,
            "details": details})
    return events


async def receive(request: Request) -> Response:
    key = guard(request, Action.OPS_ALERTS)
    svc = services(request)
    actor, remote = Actor.of(key), remote_addr(request)
    events = notices(parse_json(await read_body(request, svc.settings.gateway.max_body_bytes)),
                     key.organization_id)
    topic = svc.topics.staff_notifications
    futures = [svc.publisher.submit(topic.name, RECIPIENT, topic.codec.encode(e)) for e in events]
    futures.append(svc.auditor.submit(actor, ACTION, ALLOWED, resource=PATH, remote_addr=remote,
                                      details={"alerts": str(len(events))}))
    failed = next((r for r in await svc.publisher.settle(futures, label="ops alerts") if r is not None), None)
    if failed is not None:
        svc.auditor.fire(actor, ACTION, ERROR, resource=PATH, reason=spec_for(failed).code, remote_addr=remote)
        raise failed
    for e in events:
        svc.metrics.alert_notices(e["details"]["status"]).inc()
    doc = {"notices": [e["event_id"] for e in events], "status": "accepted"}
    return Response(orjson.dumps(doc), 202, media_type="application/json")


ROUTES = ((PATH, receive, ["POST"]),)


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


OPENAPI = {PATH: {"post": {
    "summary": "Alertmanager's webhook: each alert becomes a staff notice (ops keys)",
    "tags": ["staff"], "operationId": "receiveAlerts",
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["alerts"], "properties": {"alerts": {
            "type": "array", "minItems": 1, "maxItems": MAX_ALERTS, "items": {
                "type": "object", "required": ["status", "labels", "fingerprint", "startsAt"],
                "properties": {"status": {"type": "string", "enum": [FIRING, RESOLVED]},
                               "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                               "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                               "fingerprint": {"type": "string"}, "startsAt": {"type": "string"},
                               "endsAt": {"type": "string"}}}}}}}}},
    "responses": {
        "202": {"description": "the broker acknowledged the notices",
                "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "notices": {"type": "array", "items": {"type": "string"}}, "status": {"type": "string"}}}}}},
        "401": _error("missing or unknown API key"),
        "403": _error("the key's role is not ops"),
        "422": _error("the body is not Alertmanager's webhook JSON; `field` names what is wrong"),
        "503": _error("Kafka did not take the notices in time: retry after Retry-After seconds"),
    }}}}
