"""The one typed settings object, parsed once from environment variables at each entry point.

Each field declares its variable, type, default, unit and description once (`setting(...)` in the
group modules); `Settings.from_env()` parses from those declarations and fails at start-up with a
ConfigError naming the variable when one is malformed, and `python -m schemas.settings --markdown`
writes the reference, docs/settings.md. Secrets are `starlette.datastructures.Secret`, whose repr never
shows the value.
"""
from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from starlette.datastructures import Secret

from schemas.secrets import ENVIRONMENTS, KeyRing, parse_environment
from schemas.settings.care import CareSettings, OrgCare, check_timezone, parse_care_orgs, parse_quiet_hours
from schemas.settings.declare import FLAG, PATH, UPPER, Kind, parse_group, setting, variables
from schemas.settings.gateway import ConsoleSettings, GatewaySettings, PatientPageSettings
from schemas.settings.keys import (
    DEV_CONSOLE_SESSION_KEY,
    DEV_PHI_KEYS,
    DEV_PSEUDONYM_KEY,
    HMAC_KEY,
    KEY_RING,
    parse_key_ring,
)
from schemas.settings.pipeline import AnalyticsSettings, LimitSettings, StreamsSettings
from schemas.settings.production import check_production
from schemas.settings.services import (
    BirdSettings,
    ClickHouseSettings,
    KafkaSettings,
    MetaSettings,
    SnsSettings,
    TwilioSettings,
)

__all__ = [
    "DEV_CONSOLE_SESSION_KEY", "DEV_PHI_KEYS", "DEV_PSEUDONYM_KEY", "LOCAL_ONLY", "AnalyticsSettings", "BirdSettings",
    "CareSettings", "ClickHouseSettings", "ConsoleSettings", "GatewaySettings", "KafkaSettings", "LimitSettings",
    "MetaSettings", "OrgCare", "PatientPageSettings", "Settings", "SnsSettings", "StreamsSettings", "TwilioSettings",
    "check_timezone",
    "parse_care_orgs", "parse_key_ring", "parse_quiet_hours",
]

# CARELAY_ variables that are no settings: read by the tests, the browser tests or the local tooling only.
LOCAL_ONLY = {
    "CARELAY_TEST_KAFKA_BOOTSTRAP": "tests: use this running broker instead of starting one",
    "CARELAY_TEST_REGISTRY_URL": "tests: use this running schema registry instead of starting one",
    "CARELAY_TEST_CLICKHOUSE_URL": "tests: also run the store tests against this ClickHouse server",
    "CARELAY_TEST_CRASH_MARKER": "tests: where a crash-injection test's worker leaves its marker",
    "CARELAY_BROWSER_ARTIFACTS": "browser tests: where failure screenshots go (default `var/browser-failures`)",
    "CARELAY_CHROMIUM": "browser tests and `make screenshots`: the Chromium binary (default `/usr/bin/chromium`)",
    "CARELAY_CHROMEDRIVER": "browser tests and `make screenshots`: the chromedriver binary "
                            "(default `/usr/bin/chromedriver`)",
    "CARELAY_STACK_CACHE": "`make fetch` and the local stack: where the Kafka and registry jars are cached "
                           "(default `~/.cache/carelay`)",
    "CARELAY_OPS_KEY_FILE": "docker-compose.yml: the file holding the `ops` API key Alertmanager's receiver "
                            "uses (default `./secrets/ops-api-key`)",
}

ENVIRONMENT = Kind(f"exactly one of {', '.join(ENVIRONMENTS)}", parse_environment)


@dataclass(frozen=True)
class Settings:
    """General"""

    env: str = setting(
        "CARELAY_ENV", "development", "any other value (`Production`, `prod`) stops start-up. `production` "
        "refuses the built-in development keys and secrets, empty provider secrets and the demo API keys "
        "(docs/security.md)", kind=ENVIRONMENT)
    phi_keys: tuple[tuple[str, bytes], ...] = setting(
        "CARELAY_PHI_KEYS", parse_key_ring("CARELAY_PHI_KEYS", DEV_PHI_KEYS), "the PHI key ring: the last key "
        "seals, all of them open; its repr shows the key ids only", kind=KEY_RING, shown="a development key")
    phi_accept_unbound: bool = setting(
        "CARELAY_PHI_ACCEPT_UNBOUND", True, "also open sealed values of the previous format (`v: 1`, bound to "
        "the field name only); set `false` once none is left (docs/security.md, \"Sealed values\")", kind=FLAG)
    pseudonym_key: Secret = setting(
        "CARELAY_PSEUDONYM_KEY", Secret(DEV_PSEUDONYM_KEY), "HMAC key of recipient pseudonyms", kind=HMAC_KEY,
        shown="a development key")
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    clickhouse: ClickHouseSettings = field(default_factory=ClickHouseSettings)
    twilio: TwilioSettings = field(default_factory=TwilioSettings)
    meta: MetaSettings = field(default_factory=MetaSettings)
    sns: SnsSettings = field(default_factory=SnsSettings)
    bird: BirdSettings = field(default_factory=BirdSettings)
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    streams: StreamsSettings = field(default_factory=StreamsSettings)
    care: CareSettings = field(default_factory=CareSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    patient_page: PatientPageSettings = field(default_factory=PatientPageSettings)
    data_dir: Path = setting("CARELAY_DATA_DIR", Path("var"), "where local state lives", kind=PATH)
    log_level: str = setting("CARELAY_LOG_LEVEL", "INFO", "log level", kind=UPPER)
    channels_file: str = setting(
        "CARELAY_CHANNELS_FILE", "", "JSON list of channel instances (organization, channel, provider, sender, "
        "throughput); empty: the demo set (connectors/instances.py)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "phi_keys", KeyRing(self.phi_keys))

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def pseudonym_key_bytes(self) -> bytes:
        return base64.b64decode(str(self.pseudonym_key))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        settings = parse_group(cls, env)
        if not settings.analytics.group_id:  # the prefix names the group unless one is given
            analytics = dataclasses.replace(settings.analytics, group_id=f"{settings.kafka.topic_prefix}analytics")
            settings = dataclasses.replace(settings, analytics=analytics)
        check_production(settings)
        return settings


def declared_variables() -> list[str]:
    """Every CARELAY_ variable a Settings field reads, in declaration order."""
    return variables(Settings)
