"""One realistic record per event contract, carrying known PHI values that must never appear in clear."""
from __future__ import annotations

import json
import time
from typing import Any

from schemas.phi import PhiCipher, Pseudonymizer

ORG = "clinic-42"
PHONE = "+5215599887766"
NAME = "Guadalupe Ramirez"
BODY = "Su biopsia salio bien, llame al consultorio"
PATIENT_REF = "MRN-0098123"
MID = "3f0c1d2e-0000-4000-8000-000000000001"
CLEAR_PHI = (PHONE, PHONE.lstrip("+"), NAME, BODY, PATIENT_REF)


def examples(cipher: PhiCipher, pseudonymize: Pseudonymizer) -> dict[str, dict[str, Any]]:
    now = int(time.time() * 1000)
    rid = pseudonymize(ORG, PHONE)
    recipient = cipher.seal("recipient", PHONE)
    content = {
        "template": "urgent_notice", "language": "es",
        "params": cipher.seal("params", json.dumps({"clinic": "Clinica Norte", "notice": BODY})),
        "text": cipher.seal("text", BODY),
    }
    return {
        "SendRequest": {
            "message_id": MID, "organization_id": ORG,
            "idempotency_key": "appt-991-reminder-24h", "recipient": recipient, "recipient_id": rid,
            "patient_ref": cipher.seal("patient_ref", PATIENT_REF),
            "recipient_name": cipher.seal("recipient_name", NAME),
            "channels": ["WHATSAPP", "SMS", "VOICE"], "content": content, "priority": "URGENT",
            "send_at": None, "expires_at": now + 3_600_000, "correlation_id": "corr-1", "appointment_id": "appt-991",
            "created_at": now, "source": "gateway", "automated_reply": False, "metadata": {"campaign": "q4"},
            "timezone": "America/Mexico_City",
        },
        "DispatchCommand": {
            "message_id": MID, "attempt_id": MID + ":0",
            "hop": 0, "organization_id": ORG, "recipient": recipient, "recipient_id": rid, "channel": "WHATSAPP",
            "provider": "meta", "channel_instance": "demo-meta-wa", "content": content, "use_template": True,
            "priority": "URGENT", "deadline": now + 120_000, "routed_at": now, "reason": "first_choice",
        },
        "ProviderStatus": {
            "event_id": "meta:wamid.HBgM:delivered", "provider": "meta", "channel": "WHATSAPP",
            "provider_message_id": "wamid.HBgM", "message_id": MID,
            "attempt_id": None, "recipient_id": rid, "status": "delivered", "provider_status": "delivered",
            "error_code": None, "error_class": None, "occurred_at": now, "received_at": now, "billable": True,
            "price_micros": 8000, "price_currency": "USD", "pricing_category": "utility", "conversation_id": "conv-1",
        },
        "InboundMessage": {
            "event_id": "twilio:SM123", "provider": "twilio", "channel": "SMS", "provider_message_id": "SM123",
            "organization_id": ORG, "recipient_id": rid, "sender": cipher.seal("sender", PHONE),
            "to_address": "+15005550006", "kind": "TEXT", "text": cipher.seal("text", BODY), "payload": None,
            "context_provider_message_id": None, "received_at": now,
        },
        "WebhookEnvelope": {
            "envelope_id": "env-1", "provider": "twilio", "kind": "inbound", "recipient_id": rid,
            "query": {"org": ORG}, "received_at": now,
            "body": cipher.seal("body", json.dumps({"From": PHONE, "Body": BODY, "MessageSid": "SM123"})),
        },
        "ConsentChange": {
            "event_id": "consent-1", "organization_id": ORG, "recipient_id": rid, "channel": "UNKNOWN",
            "state": "OPTED_OUT", "source": "keyword", "reason": "stop", "occurred_at": now,
        },
        "DeliveryOutcome": {
            "event_id": "out-1", "message_id": MID, "organization_id": ORG,
            "recipient_id": rid, "status": "delivered", "previous_status": "sent", "channel": "WHATSAPP",
            "provider": "meta", "attempt_id": MID + ":0", "hop": 0,
            "priority": "URGENT", "template": "urgent_notice", "error_code": None, "reason": None,
            "is_final": False, "occurred_at": now, "accepted_at": now - 900,
        },
        "MessageState": {
            "message_id": MID, "organization_id": ORG, "recipient_id": rid,
            "status": "delivered", "channel": "WHATSAPP", "provider": "meta", "provider_message_id": "wamid.HBgM",
            "hop": 0, "is_final": False, "created_at": now - 900, "updated_at": now,
            "history": [{"status": "accepted", "at": now - 900, "channel": "UNKNOWN", "provider": None,
                         "attempt_id": None, "error_code": None, "source": "gateway", "reason": None,
                         "late": False, "attempt": None, "next_attempt_at": None},
                        {"status": "retrying", "at": now - 800, "channel": "WHATSAPP", "provider": "meta",
                         "attempt_id": MID + ":0", "error_code": "131049", "source": "pipeline",
                         "reason": "retryable", "late": False, "attempt": 1, "next_attempt_at": now - 500},
                        {"status": "delivered", "at": now, "channel": "WHATSAPP", "provider": "meta",
                         "attempt_id": MID + ":0", "error_code": None, "source": "provider", "reason": None,
                         "late": False, "attempt": None, "next_attempt_at": None},
                        {"status": "undelivered", "at": now + 5, "channel": "WHATSAPP", "provider": "meta",
                         "attempt_id": MID + ":0", "error_code": "131026", "source": "provider", "reason": None,
                         "late": True, "attempt": None, "next_attempt_at": None}],
            "reason": None, "error_code": None, "next_attempt_at": None,
        },
        "AuditRecord": {
            "audit_id": "aud-1", "occurred_at": now, "actor": "key:demo-sender", "role": "sender",
            "organization_id": ORG, "action": "message.send", "resource": MID,
            "outcome": "allowed", "reason": None, "remote_addr": "127.0.0.1", "details": {"route": "/v1/messages"},
        },
        "DeadLetter": {
            "source_topic": "carelay.send.requests", "source_partition": 0, "source_offset": 12, "key": rid.encode(),
            "value": b"\x00\x00\x00\x00\x01garbage", "reason": "undecodable", "detail": "bad magic byte",
            "message_id": None, "failed_at": now,
        },
        "DelayedRecord": {
            "due_at": now + 10_000, "target_topic": "carelay.send.requests", "key": rid.encode(),
            "value": b"\x00\x00\x00\x00\x01...", "attempt": 1, "reason": "rate_limited",
        },
        "CircuitEvent": {
            "event_id": "cb-1", "channel_instance": "demo-meta-wa", "provider": "meta", "channel": "WHATSAPP",
            "state": "open", "previous_state": "closed", "failures": 5, "occurred_at": now,
        },
        "InAppNotification": {
            "notification_id": MID + ":2", "message_id": MID,
            "organization_id": ORG, "recipient_id": rid, "patient_ref": cipher.seal("patient_ref", PATIENT_REF),
            "body": cipher.seal("body", BODY), "template": "urgent_notice", "created_at": now,
        },
        "AppointmentEvent": {
            "event_id": "fhir:appt-991:3", "kind": "RESCHEDULED", "appointment_id": "appt-991", "organization_id": ORG,
            "patient_ref": cipher.seal("patient_ref", PATIENT_REF), "recipient": recipient, "recipient_id": rid,
            "recipient_name": cipher.seal("recipient_name", NAME), "language": "es",
            "timezone": "America/Mexico_City", "clinic": "Clinica Norte",
            "practitioner": cipher.seal("practitioner", NAME), "location": cipher.seal("location", BODY),
            "start_at": now + 86_400_000, "previous_start_at": now + 3_600_000, "source_status": "booked",
            "source_version": "3", "occurred_at": now, "source": "fhir", "metadata": {"fhir": "R4"},
        },
        "CareEvent": {
            "event_id": "care-1", "type": "staff.attention_needed", "organization_id": ORG, "recipient_id": rid,
            "appointment_id": "appt-991", "message_id": MID, "reason": "unclear_reply", "channel": "SMS",
            "language": "es", "text": cipher.seal("text", BODY), "correlation_id": "twilio:SM123",
            "occurred_at": now, "details": {"clarifications": "1"},
        },
        "AiMessage": {
            "message_id": "ai-1", "conversation_id": f"{ORG}|{rid}", "organization_id": ORG, "recipient_id": rid,
            "correlation_id": "twilio:SM123", "text": cipher.seal("text", BODY), "language": "es", "channel": "SMS",
            "appointment_id": None, "handoff": False, "created_at": now, "metadata": {"agent": "reference"},
        },
        "AppointmentPlan": {
            "organization_id": ORG, "appointment_id": "appt-991", "recipient_id": rid, "kind": "BOOKED",
            "start_at": now + 86_400_000, "timezone": "America/Mexico_City", "urgent": False,
            "reminders": [
                {"name": "24h", "offset_s": 86_400, "due_at": now, "state": "sent", "reason": None,
                 "message_id": MID},
                {"name": "2h", "offset_s": 7200, "due_at": now + 79_200_000, "state": "scheduled",
                 "reason": "quiet_hours", "message_id": None},
            ],
            "impossible": None, "updated_at": now,
        },
        "StaffAccount": {
            "organization_id": ORG, "username": "alice", "role": "staff",
            "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", "disabled": False,
            "updated_at": now, "updated_by": "cli",
        },
        "StaffSignIn": {
            "event_id": "signin-1", "organization_id": ORG, "username": "alice", "kind": "failed",
            "session_id": None, "remote_addr": "192.0.2.7", "occurred_at": now,
        },
        "TemplateVersion": {
            "organization_id": ORG, "name": "lembrete_consulta", "version": 2, "category": "UTILITY",
            "params": ["clinic", "date"], "asks": None,
            "languages": [{"language": "pt", "whatsapp_name": "lembrete_consulta", "whatsapp_language": "pt_BR",
                           "buttons": [], "body": "Consulta em {clinic} no dia {date}.",
                           "sms": "Consulta em {clinic} no dia {date}.", "voice": "Consulta em {clinic} no dia {date}.",
                           "whatsapp_status": "APPROVED", "whatsapp_reason": None, "whatsapp_template_id": "1234"}],
            "updated_at": now, "updated_by": "meta",
        },
        "StaffAction": {
            "organization_id": ORG, "notice_id": "care-1", "action": "assigned", "actor": "alice",
            "assignee": "alice", "occurred_at": now,
        },
        "PatientLink": {
            "link_id": "link-1", "organization_id": ORG, "recipient_id": rid,
            "recipient": recipient, "language": "es",
            "created_at": now, "expires_at": now + 86_400_000, "device": None, "created_by": "demo-key",
        },
        "Slot": {
            "slot_id": "slot-1", "organization_id": ORG, "status": "free", "schedule": "Schedule/dr-lopez",
            "practitioners": ["Practitioner/77"], "locations": ["Location/norte"], "start_at": now + 86_400_000,
            "end_at": now + 88_200_000, "source_version": "3", "updated_at": now,
        },
        "WebhookEndpoint": {
            "endpoint_id": "we-1", "organization_id": ORG, "url": "https://clinic.example/hooks",
            "event_types": ["message.status_changed"], "status_changes": "final", "include_phi": False,
            "secret": cipher.seal("webhook_secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "created_at": now,
            "created_by": "demo-admin",
        },
        "WebhookDelivery": {
            "delivery_id": "evt_1", "endpoint_id": "we-1", "organization_id": ORG,
            "event_type": "message.status_changed", "subject": "m-1", "sequence": 3,
            "body": cipher.seal("webhook_body", '{"type":"message.status_changed"}'), "created_at": now,
            "attempt": 0, "first_failed_at": None, "parked": False,
        },
        "WebhookAttempt": {
            "delivery_id": "evt_1", "endpoint_id": "we-1", "organization_id": ORG,
            "event_type": "message.status_changed", "attempt": 1, "outcome": "delivered", "http_status": 200,
            "error": None, "duration_ms": 12, "next_attempt_at": None, "at": now,
        },
    }
