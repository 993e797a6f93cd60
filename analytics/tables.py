"""The columns the sink writes, per table, in insert order; migrations.py declares the same tables.

A contract test compares these with system.columns, so the row mappers and the DDL cannot drift apart.
No column holds clear-text PHI: recipients appear only as `recipient_id` pseudonyms, never bodies.
"""
from __future__ import annotations

# Lifecycle event types of the `events` table. Care workflows add their CareEvent types (from
# appointment.events and staff.notifications); the loop guard's conversation.paused/resumed are
# relayed from the audit topic (see rows.py).
REQUEST_ACCEPTED = "request.accepted"
DISPATCH_ATTEMPT = "dispatch.attempt"  # one DispatchCommand: the route decision for one attempt
FALLBACK_HOP = "fallback.hop"  # the same attempt when hop > 0: the router fell back
PROVIDER_STATUS = "provider.status"
DELIVERY_OUTCOME = "delivery.outcome"
CONSENT_CHANGE = "consent.change"
INBOUND_MESSAGE = "inbound.message"
DEAD_LETTER = "dead.letter"
CONVERSATION_PAUSED = "conversation.paused"
CONVERSATION_RESUMED = "conversation.resumed"
APPOINTMENT_CONFIRMED = "appointment.confirmed"
APPOINTMENT_CANCEL_REQUESTED = "appointment.cancel_requested"
APPOINTMENT_RESCHEDULE_REQUESTED = "appointment.reschedule_requested"
STAFF_ATTENTION = "staff.attention_needed"  # its `reason` says why (unclear_reply, ai_timeout, ...)

EVENTS = "events"
MESSAGE_STATE = "message_state"
CHANNEL_HEALTH = "channel_health"
AUDIT_LOG = "audit_log"

COLUMNS: dict[str, tuple[str, ...]] = {
    EVENTS: (
        "event_id", "event_type", "occurred_at", "message_id", "attempt_id", "organization_id",
        "recipient_id", "channel", "provider", "provider_message_id", "status", "previous_status",
        "template", "priority", "hop", "is_final", "error_code", "error_class", "reason", "accepted_at",
        "price_micros", "price_currency", "pricing_category", "source_topic", "source_partition",
        "source_offset", "appointment_id", "billable",
    ),
    MESSAGE_STATE: (
        "message_id", "organization_id", "recipient_id", "status", "channel", "provider", "hop",
        "is_final", "error_code", "accepted_at", "sent_at", "delivered_at", "read_at", "failed_at",
        "updated_at",
    ),
    CHANNEL_HEALTH: (
        "event_id", "occurred_at", "channel_instance", "provider", "channel", "state", "previous_state",
        "failures",
    ),
    AUDIT_LOG: (
        "audit_id", "occurred_at", "actor", "role", "organization_id", "action", "resource", "outcome",
        "reason", "remote_addr", "details", "source_topic",
    ),
}
