"""The stream worker's configuration: Settings plus the few variables only the worker reads.

Parsed once at the entry point. The STREAMS_VARS below belong in schemas.settings (LimitSettings /
a StreamsSettings); until they move there they are read here, with the same error style.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from schemas.errors import ConfigError
from schemas.settings import Settings
from streams.decide.circuit import BreakerConfig
from streams.decide.loopguard import LoopConfig
from streams.decide.ratelimit import Limit
from streams.decide.retry import RetryPolicy
from streams.decide.world import Policy

# variable -> (default, minimum); every value is a non-negative number
STREAMS_VARS: dict[str, tuple[float, float]] = {
    "CARELAY_STREAMS_METRICS_PORT": (9102, 0),      # Prometheus /metrics of the worker; 0 disables
    "CARELAY_STREAMS_BATCH_MAX": (500, 1),          # events per stream.take_events() batch
    "CARELAY_STREAMS_BATCH_WITHIN_MS": (20, 1),     # longest wait for a batch to fill
    "CARELAY_STREAMS_STANDBY_REPLICAS": (0, 0),     # Faust table standbys (warm copies on other workers)
    "CARELAY_STREAMS_SESSION_TIMEOUT_S": (30, 6),   # a dead worker's partitions move after this long
    "CARELAY_STREAMS_CALL_CONCURRENCY": (32, 1),    # provider calls in flight at once per worker
    "CARELAY_RETRY_MAX_TRIES": (4, 1),              # provider calls per hop before falling back
    "CARELAY_RETRY_BASE_MS": (1000, 1),
    "CARELAY_RETRY_CAP_MS": (300_000, 1),
    "CARELAY_IN_DOUBT_GRACE_S": (120, 0),           # wait for a callback before resending an in-doubt attempt
    "CARELAY_ECHO_WINDOW_S": (2, 0),
    "CARELAY_LOOP_BOT_REPLY_S": (10, 0),            # an inbound this soon after an automated send looks bot-made
    "CARELAY_LOOP_PING_PONG": (3, 1),               # that many bot-made replies in the loop window pause
    "CARELAY_LOOP_PAUSE_S": (86_400, 0),            # how long automated replies stay paused
    "CARELAY_WHATSAPP_WINDOW_S": (86_400, 1),
    "CARELAY_RECONCILE_INTERVAL_S": (60, 1),        # the reconciliation timer's period
    "CARELAY_RECONCILE_STUCK_S": (900, 1),          # poll the provider for messages quiet this long
    "CARELAY_MESSAGE_RETENTION_S": (7 * 86_400, 1),  # keep final message records this long (late `read`s)
}


@dataclass(frozen=True)
class StreamsConfig:
    settings: Settings
    app_id: str
    metrics_port: int
    batch_max: int
    batch_within_s: float
    standby_replicas: int
    session_timeout_s: float
    call_concurrency: int
    policy: Policy
    breaker: BreakerConfig
    reconcile_interval_s: float
    reconcile_stuck_ms: int
    message_retention_ms: int

    @property
    def partitions(self) -> int:
        return self.settings.kafka.partitions

    @classmethod
    def from_env(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> StreamsConfig:
        env = os.environ if environ is None else environ
        v = {name: _number(env, name, default, low) for name, (default, low) in STREAMS_VARS.items()}
        lim = settings.limits
        parts = settings.kafka.partitions
        loop = LoopConfig(cap=lim.loop_cap_replies, window_ms=lim.loop_cap_window_s * 1000,
                          echo_ms=int(v["CARELAY_ECHO_WINDOW_S"] * 1000),
                          bot_reply_ms=int(v["CARELAY_LOOP_BOT_REPLY_S"] * 1000),
                          ping_pong=int(v["CARELAY_LOOP_PING_PONG"]), pause_ms=int(v["CARELAY_LOOP_PAUSE_S"] * 1000))
        policy = Policy(
            dedup_window_ms=lim.dedup_window_s * 1000,
            recipient_hour=Limit.per_window(lim.per_recipient_hour, 3600),
            recipient_day=Limit.per_window(lim.per_recipient_day, 86_400),
            urgent_hour=Limit.per_window(lim.urgent_per_recipient_hour, 3600),
            org=Limit.share(lim.per_org_second, parts),
            deadline_normal_ms=lim.delivery_deadline_normal_s * 1000,
            deadline_urgent_ms=lim.delivery_deadline_urgent_s * 1000,
            in_doubt_grace_ms=int(v["CARELAY_IN_DOUBT_GRACE_S"] * 1000),
            whatsapp_window_ms=int(v["CARELAY_WHATSAPP_WINDOW_S"] * 1000),
            retry=RetryPolicy(int(v["CARELAY_RETRY_MAX_TRIES"]), int(v["CARELAY_RETRY_BASE_MS"]),
                              int(v["CARELAY_RETRY_CAP_MS"])),
            loop=loop,
        )
        breaker = BreakerConfig(lim.breaker_failures, lim.breaker_window_s * 1000, lim.breaker_recovery_s * 1000,
                                lim.breaker_half_open_calls)
        return cls(
            settings=settings,
            app_id=env.get("CARELAY_STREAMS_APP_ID", "").strip() or f"{settings.kafka.topic_prefix}streams",
            metrics_port=int(v["CARELAY_STREAMS_METRICS_PORT"]),
            batch_max=int(v["CARELAY_STREAMS_BATCH_MAX"]),
            batch_within_s=v["CARELAY_STREAMS_BATCH_WITHIN_MS"] / 1000,
            standby_replicas=int(v["CARELAY_STREAMS_STANDBY_REPLICAS"]),
            session_timeout_s=v["CARELAY_STREAMS_SESSION_TIMEOUT_S"],
            call_concurrency=int(v["CARELAY_STREAMS_CALL_CONCURRENCY"]),
            policy=policy,
            breaker=breaker,
            reconcile_interval_s=v["CARELAY_RECONCILE_INTERVAL_S"],
            reconcile_stuck_ms=int(v["CARELAY_RECONCILE_STUCK_S"] * 1000),
            message_retention_ms=int(v["CARELAY_MESSAGE_RETENTION_S"] * 1000),
        )


def _number(env: Mapping[str, str], name: str, default: float, low: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return float(default)
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}: not a number") from None
    if value < low:
        raise ConfigError(f"{name}: must be at least {low:g}")
    return value
