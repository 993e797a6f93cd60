"""Loads the Avro contracts in schemas/avro/ (one .avsc per named type, referenced by full name)."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from fastavro.schema import load_schema

AVRO_DIR = Path(__file__).parent / "avro"
RELEASED_DIR = AVRO_DIR / "released"
NAMESPACE = "io.carelay"

# The records that travel on topics; the rest (Sealed, Channel, ...) are parts of these.
EVENT_TYPES = (
    "SendRequest", "DispatchCommand", "ProviderStatus", "InboundMessage", "WebhookEnvelope",
    "ConsentChange", "DeliveryOutcome", "MessageState", "AuditRecord", "DeadLetter",
    "DelayedRecord", "CircuitEvent", "InAppNotification", "AppointmentEvent", "CareEvent", "AiMessage",
    "AppointmentPlan", "StaffAccount", "StaffSignIn", "StaffAction", "TemplateVersion",
    "PatientLink", "Slot", "WebhookEndpoint", "WebhookDelivery", "WebhookAttempt",
)


@cache
def parsed(name: str) -> Any:
    """The fastavro-parsed schema of `name`, with every referenced type resolved and inlined."""
    return load_schema(str(AVRO_DIR / f"{NAMESPACE}.{name}.avsc"), _write_hint=False)


@cache
def schema_text(name: str) -> str:
    """The self-contained schema text, as registered with the schema registry."""
    return json.dumps(_strip_fastavro_keys(parsed(name)), sort_keys=True, separators=(",", ":"))


def released_versions(name: str) -> list[Path]:
    """Snapshots of earlier releases (`Name.vN.avsc`), oldest first."""
    found = sorted(RELEASED_DIR.glob(f"{name}.v*.avsc"), key=lambda p: int(p.stem.rsplit(".v", 1)[1]))
    return found


def _strip_fastavro_keys(node: Any) -> Any:
    # fastavro annotates parsed schemas with private "__fastavro_parsed"/"__named_schemas" keys.
    if isinstance(node, dict):
        return {k: _strip_fastavro_keys(v) for k, v in node.items() if not k.startswith("__")}
    if isinstance(node, list):
        return [_strip_fastavro_keys(v) for v in node]
    return node
