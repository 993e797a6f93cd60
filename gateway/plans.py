"""The appointment-plan view behind GET /v1/appointments/{id} (gateway.appointments): every gateway
process reads the compacted `appointment.plans` topic into memory (gateway.topicview), keeping each
plan's last record undecoded (key `organization_id|appointment_id`) and decoding it on GET. The
stream workers write the topic; memory grows with the appointments changed within its 30 days (a few
hundred bytes each).
"""
from __future__ import annotations

from typing import Any

from gateway.topicview import TopicView
from schemas.codec import AvroCodec


class AppointmentPlanView(TopicView):
    name = "appointment plan view"

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        super().__init__(bootstrap, topic, codec)
        self._plans: dict[str, bytes] = {}  # organization_id|appointment_id -> the last record, undecoded

    def get(self, organization_id: str, appointment_id: str) -> dict[str, Any] | None:
        raw = self._plans.get(f"{organization_id}|{appointment_id}")
        return None if raw is None else self.decode(raw)

    def take(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return  # the streams always key a plan; a keyless record names nothing to replace
        self.keep_raw(self._plans, key.decode("utf-8", "replace"), value)
