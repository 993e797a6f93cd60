"""The stream worker's configuration: the decision modules' policy objects derived from Settings."""
from __future__ import annotations

from dataclasses import dataclass

from schemas.settings import Settings
from streams.care.loopguard import LoopConfig
from streams.decide.circuit import BreakerConfig
from streams.decide.ratelimit import Limit
from streams.decide.retry import RetryPolicy
from streams.decide.world import Policy


@dataclass(frozen=True)
class StreamsConfig:
    settings: Settings
    app_id: str
    metrics_port: int
    batch_max: int
    batch_within_s: float
    fetch_min_bytes: int
    fetch_max_wait_ms: int
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
    def from_settings(cls, settings: Settings) -> StreamsConfig:
        """The decision modules' policy objects, derived from Settings.limits and Settings.streams."""
        lim, st = settings.limits, settings.streams
        parts = settings.kafka.partitions
        loop = LoopConfig(cap=lim.loop_cap_replies, window_ms=lim.loop_cap_window_s * 1000,
                          echo_ms=st.echo_window_s * 1000, bot_reply_ms=st.loop_bot_reply_s * 1000,
                          ping_pong=st.loop_ping_pong, pause_ms=st.loop_pause_s * 1000)
        policy = Policy(
            dedup_window_ms=lim.dedup_window_s * 1000,
            inbound_dedup_ms=st.inbound_dedup_days * 86_400_000,
            recipient_hour=Limit.per_window(lim.per_recipient_hour, 3600),
            recipient_day=Limit.per_window(lim.per_recipient_day, 86_400),
            urgent_hour=Limit.per_window(lim.urgent_per_recipient_hour, 3600),
            org=Limit.share(lim.per_org_second, parts),
            deadline_normal_ms=lim.delivery_deadline_normal_s * 1000,
            deadline_urgent_ms=lim.delivery_deadline_urgent_s * 1000,
            urgent_voice_after_ms=settings.care.urgent_voice_after_unread_s * 1000,
            in_doubt_grace_ms=st.in_doubt_grace_s * 1000,
            whatsapp_window_ms=st.whatsapp_window_s * 1000,
            retry=RetryPolicy(st.retry_max_tries, st.retry_base_ms, st.retry_cap_ms),
            loop=loop,
        )
        breaker = BreakerConfig(lim.breaker_failures, lim.breaker_window_s * 1000, lim.breaker_recovery_s * 1000,
                                lim.breaker_half_open_calls)
        return cls(
            settings=settings,
            app_id=st.app_id or f"{settings.kafka.topic_prefix}streams",
            metrics_port=st.metrics_port,
            batch_max=st.batch_max,
            batch_within_s=st.batch_within_ms / 1000,
            fetch_min_bytes=st.fetch_min_bytes,
            fetch_max_wait_ms=st.fetch_max_wait_ms,
            standby_replicas=st.standby_replicas,
            session_timeout_s=st.session_timeout_s,
            call_concurrency=st.call_concurrency,
            policy=policy,
            breaker=breaker,
            reconcile_interval_s=st.reconcile_interval_s,
            reconcile_stuck_ms=st.reconcile_stuck_s * 1000,
            message_retention_ms=st.message_retention_s * 1000,
        )
