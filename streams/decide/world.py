"""What decisions may look at besides their own records: time, configuration, circuit health."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from streams.care.clock import QuietHours
from streams.care.loopguard import LoopConfig
from streams.decide.ratelimit import Limit
from streams.decide.retry import RetryPolicy
from streams.decide.routing import WHATSAPP_WINDOW_MS, Instance


@dataclass(frozen=True)
class Policy:
    """The limits of LimitSettings, in the units the decisions use (ms, Limit)."""

    dedup_window_ms: int = 24 * 3600 * 1000
    inbound_dedup_ms: int = 7 * 86_400_000  # inbound provider message ids are remembered this long
    recipient_hour: Limit = field(default_factory=lambda: Limit.per_window(3, 3600))
    recipient_day: Limit = field(default_factory=lambda: Limit.per_window(6, 86400))
    urgent_hour: Limit = field(default_factory=lambda: Limit.per_window(10, 3600))
    org: Limit = field(default_factory=lambda: Limit(200.0, 200.0))
    deadline_normal_ms: int = 3_600_000
    deadline_urgent_ms: int = 120_000
    urgent_voice_after_ms: int = 600_000  # an urgent notice delivered but not read by then: call
    in_doubt_grace_ms: int = 120_000
    whatsapp_window_ms: int = WHATSAPP_WINDOW_MS
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    loop: LoopConfig = field(default_factory=LoopConfig)

    def deadline_ms(self, priority: str) -> int:
        return self.deadline_urgent_ms if priority == "URGENT" else self.deadline_normal_ms


def _never(_: str) -> bool:
    return False


def _approved(_name: str, _language: str) -> str:
    return "APPROVED"


def _zero(_: str) -> int:
    return 0


NO_QUIET = QuietHours(0, 0)


def _no_quiet(_: str) -> tuple[str, QuietHours]:
    return "UTC", NO_QUIET


@dataclass(frozen=True)
class World:
    now_ms: int
    policy: Policy = field(default_factory=Policy)
    instances: Callable[[str, str], Sequence[Instance]] = lambda org, channel: ()
    is_open: Callable[[str], bool] = _never          # routing's view of the circuits
    reopens_at: Callable[[str], int] = _zero
    instance_limit: Callable[[str], Limit] = field(default=lambda _id: Limit(0, 0))
    quiet: Callable[[str], tuple[str, QuietHours]] = _no_quiet  # organization -> (its zone, its quiet hours)
    # (template, language) -> Meta's review of its WhatsApp form (schemas.templates.TemplateCatalog)
    template_status: Callable[[str, str], str] = _approved
