"""The simulator's configuration and shared state (one instance per app)."""
from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.meta.webhooks import PATH as META_PATH
from connectors.twilio.webhooks import PATHS as TWILIO_PATHS
from schemas.settings import BirdSettings, MetaSettings, Settings, SnsSettings, TwilioSettings
from stack.simulator.callbacks import Dispatcher
from stack.simulator.scenarios import Scenario, parse_scenario
from stack.simulator.sns_keys import load_signing_pair
from stack.simulator.store import Store

DEV_D360_API_KEY = "dev-d360-api-key"

DEMO_MESSAGING_SERVICE_SID = "MG" + "d" * 32  # the simulator's demo Messaging Service


@dataclass(frozen=True)
class SimulatorConfig:
    # defaults: the development credentials of schemas.settings, so a default stack agrees
    account_sid: str = TwilioSettings.account_sid
    auth_token: str = field(default_factory=lambda: str(TwilioSettings().auth_token))
    meta_access_token: str = field(default_factory=lambda: str(MetaSettings().access_token))
    meta_app_secret: str = field(default_factory=lambda: str(MetaSettings().app_secret))
    meta_phone_number_id: str = MetaSettings.phone_number_id
    meta_waba_id: str = MetaSettings.waba_id
    template_review_s: float = 1.0  # Meta's review of a submitted template takes this long here
    meta_display_phone_number: str = "15550001001"
    d360_api_key: str = DEV_D360_API_KEY
    d360_phone_number_id: str = "100000000000360"
    gateway_url: str = "http://127.0.0.1:8000"
    meta_webhook_url: str = ""  # empty: gateway_url + /webhooks/meta
    twilio_inbound_url: str = ""  # empty: gateway_url + /webhooks/twilio/inbound
    # Twilio Messaging Services: SID -> the pool of sender numbers (one demo service over the demo numbers)
    messaging_services: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        DEMO_MESSAGING_SERVICE_SID: ("+15005550006", "+15005550007", "+15005550016")})
    webhook_retry_base_s: float = 0.5  # Meta webhook retries: base, doubling (capped at 4 s)
    webhook_retries: int = 3  # Meta retries for days; chaos tests outlast a broker outage with more
    scenario: Mapping[str, Any] = field(default_factory=dict)
    sns_access_key_id: str = SnsSettings.access_key_id
    sns_topic_arn: str = SnsSettings.status_topic_arn
    sns_organization: str = "demo-clinic"  # the `org` of the delivery report subscription URL
    sns_report_delay_s: float = 0.05
    sns_signing_key_file: str = ""  # with sns_signing_cert_file: sign with this pair; else a fresh one
    sns_signing_cert_file: str = ""
    bird_access_key: str = field(default_factory=lambda: str(BirdSettings().access_key))
    bird_workspace_id: str = BirdSettings.workspace_id
    bird_signing_key: str = field(default_factory=lambda: str(BirdSettings().signing_key))
    bird_status_delay_s: float = 0.05

    @property
    def meta_webhook(self) -> str:
        return self.meta_webhook_url or self.gateway_url.rstrip("/") + META_PATH

    @property
    def twilio_inbound(self) -> str:
        return self.twilio_inbound_url or self.gateway_url.rstrip("/") + TWILIO_PATHS["inbound"]

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SimulatorConfig:
        """The credentials the connectors will present, taken from the same Settings."""
        values: dict[str, Any] = {
            "account_sid": settings.twilio.account_sid,
            "auth_token": str(settings.twilio.auth_token),
            "meta_access_token": str(settings.meta.access_token),
            "meta_app_secret": str(settings.meta.app_secret),
            "meta_phone_number_id": settings.meta.phone_number_id,
            "meta_waba_id": settings.meta.waba_id,
            "gateway_url": settings.gateway.public_url,
            "sns_access_key_id": settings.sns.access_key_id,
            "sns_topic_arn": settings.sns.status_topic_arn,
            "sns_signing_cert_file": settings.sns.signing_cert_file,
            "bird_access_key": str(settings.bird.access_key),
            "bird_workspace_id": settings.bird.workspace_id,
            "bird_signing_key": str(settings.bird.signing_key),
        }
        values.update(overrides)
        return cls(**values)


class SimState:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.store = Store()
        self.templates: dict[str, dict[str, Any]] = {}  # Meta's message templates by id (meta_templates)
        self.dispatcher = Dispatcher(config.auth_token, config.meta_app_secret.encode(),
                                     meta_retries=config.webhook_retries,
                                     retry_base_s=config.webhook_retry_base_s)
        self.scenario = Scenario()
        self.sns_signing_key, self.sns_cert_pem = load_signing_pair(config.sns_signing_key_file,
                                                                     config.sns_signing_cert_file)
        self.sns_published: list[dict[str, str]] = []
        self.rng = random.Random()
        self.install(config.scenario)

    def install(self, raw: Mapping[str, Any]) -> Scenario:
        self.scenario = parse_scenario(raw, time.monotonic())
        self.rng = self.scenario.rng()
        return self.scenario

    def now(self) -> float:
        return time.monotonic()
