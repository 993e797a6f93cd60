"""The streams' configuration, built once from the declared settings."""
from __future__ import annotations

import pytest

from schemas.errors import ConfigError
from schemas.settings import Settings
from streams.config import StreamsConfig


def test_streams_settings_parse_and_fail_by_name() -> None:
    settings = Settings.from_env({"CARELAY_RETRY_MAX_TRIES": "7", "CARELAY_LOOP_PAUSE_S": "60"})
    cfg = StreamsConfig.from_settings(settings)
    assert cfg.policy.retry.max_tries == 7 and cfg.policy.loop.pause_ms == 60_000
    assert cfg.policy.loop.cap == settings.limits.loop_cap_replies
    assert cfg.breaker.recovery_ms == settings.limits.breaker_recovery_s * 1000
    assert cfg.policy.org.per_s == settings.limits.per_org_second / settings.kafka.partitions
    assert cfg.app_id == "carelay.streams"
    with pytest.raises(ConfigError, match="CARELAY_RETRY_MAX_TRIES"):
        Settings.from_env({"CARELAY_RETRY_MAX_TRIES": "0"})
    with pytest.raises(ConfigError, match="CARELAY_ECHO_WINDOW_S"):
        Settings.from_env({"CARELAY_ECHO_WINDOW_S": "soon"})
