"""The provider-neutral side of template review: submitting a template's form for a provider's approval.

A provider package that reviews templates (connectors/meta/templates.py) implements TemplateSubmitter;
connectors.factory.template_submitter builds it from Settings. The review's result arrives later by
webhook as a `template_status` item, which the streams record as a new template version.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from schemas.templates import Template

TEMPLATE_STATUS = "template_status"  # the WebhookItem / envelope kind of a review result


@dataclass(frozen=True)
class Submitted:
    template_id: str
    status: str  # PENDING, or APPROVED / REJECTED when the provider answers at once


class SubmitRefused(Exception):
    """The provider refused the submission, or could not be reached; `reason` is machine-readable."""

    def __init__(self, reason: str, http_status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status


class TemplateSubmitter(Protocol):
    async def submit(self, template: Template, language: str) -> Submitted:
        """Send one language's WhatsApp form for review; raises SubmitRefused."""
        ...

    async def aclose(self) -> None: ...
