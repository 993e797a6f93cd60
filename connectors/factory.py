"""The provider registry: the one module that names every provider package.

Everything else asks here: the connectors a process needs (`Connectors.from_settings`), a provider's
capabilities, the gateway's webhook receivers and routes, the streams' webhook interpreters and the
demo channel instances. Adding a provider is a package under connectors/ plus one entry in each table.
"""
from __future__ import annotations

from collections.abc import Mapping

from connectors.base import Capabilities, ChannelInstance, Connector
from connectors.bird import capabilities as bird_caps
from connectors.bird import parse as bird_parse
from connectors.bird.connector import BirdConnector
from connectors.bird.webhooks import BirdWebhooks
from connectors.inapp import capabilities as inapp_caps
from connectors.inapp import instances as inapp_instances
from connectors.inapp.connector import InAppConnector, Publish
from connectors.meta import capabilities as meta_caps
from connectors.meta import instances as meta_instances
from connectors.meta import parse as meta_parse
from connectors.meta.connector import MetaConnector
from connectors.meta.templates import MetaTemplates
from connectors.meta.webhooks import MetaWebhooks
from connectors.sns import capabilities as sns_caps
from connectors.sns import parse as sns_parse
from connectors.sns.connector import SnsConnector
from connectors.sns.webhooks import SnsWebhooks
from connectors.templates import TemplateSubmitter
from connectors.twilio import capabilities as twilio_caps
from connectors.twilio import instances as twilio_instances
from connectors.twilio import parse as twilio_parse
from connectors.twilio.connector import TwilioConnector
from connectors.twilio.webhooks import TwilioWebhooks
from connectors.webhooks import Interpret, WebhookReceiver, WebhookRoute
from schemas.errors import ConfigError
from schemas.phi import PhiCipher
from schemas.settings import Settings
from schemas.templates import TemplateCatalog, default_catalog

DEMO_ORGANIZATION = "demo-clinic"
NO_CAPABILITIES = Capabilities()  # an unknown provider: no lookup, no opt-out codes, no address

CAPABILITIES: Mapping[str, Capabilities] = {
    twilio_caps.PROVIDER: twilio_caps.CAPABILITIES,
    **{name: meta_caps.CAPABILITIES for name in meta_caps.NAMES},
    inapp_caps.PROVIDER: inapp_caps.CAPABILITIES,
    sns_caps.PROVIDER: sns_caps.CAPABILITIES,
    bird_caps.PROVIDER: bird_caps.CAPABILITIES,
}
PROVIDERS: tuple[str, ...] = tuple(CAPABILITIES)  # the names a ChannelInstance may give
# the envelope's provider -> its package's interpreter (360dialog's webhooks are the Cloud API's)
INTERPRETERS: Mapping[str, Interpret] = {
    twilio_caps.PROVIDER: twilio_parse.interpret,
    **{name: meta_parse.interpret for name in meta_caps.NAMES},
    sns_caps.PROVIDER: sns_parse.interpret,
    bird_caps.PROVIDER: bird_parse.interpret,
}


def capabilities(provider: str) -> Capabilities:
    return CAPABILITIES.get(provider, NO_CAPABILITIES)


def interpreter(provider: str) -> Interpret | None:
    """How the streams read a WebhookEnvelope of `provider`; None for a provider with no webhooks."""
    return INTERPRETERS.get(provider)


def webhook_receivers(settings: Settings) -> dict[str, WebhookReceiver]:
    """The gateway's receivers, by the provider name their envelopes carry."""
    receivers: list[WebhookReceiver] = [
        TwilioWebhooks(str(settings.twilio.auth_token)),
        MetaWebhooks(str(settings.meta.app_secret), str(settings.meta.verify_token)),
        SnsWebhooks(settings.sns.status_topic_arn, settings.sns.signing_cert_file),
        BirdWebhooks(str(settings.bird.signing_key)),
    ]
    return {r.provider: r for r in receivers}


def template_submitter(settings: Settings) -> TemplateSubmitter:
    """Where WhatsApp templates go for review: Meta's template API of the configured business account."""
    return MetaTemplates(settings.meta)


def webhook_routes() -> list[tuple[str, WebhookRoute]]:
    """(provider, route) for every webhook URL, provider by provider (the gateway mounts them by `order`)."""
    return [*((twilio_caps.PROVIDER, r) for r in TwilioWebhooks.routes),
            *((meta_caps.PROVIDER, r) for r in MetaWebhooks.routes),
            *((sns_caps.PROVIDER, r) for r in SnsWebhooks.routes),
            *((bird_caps.PROVIDER, r) for r in BirdWebhooks.routes)]


def demo_instances(settings: Settings, organization_id: str = DEMO_ORGANIZATION) -> list[ChannelInstance]:
    """The demo set: per channel, in preference order (WhatsApp by the Cloud API first, then Twilio)."""
    return [
        *meta_instances.demo_instances(settings, organization_id),
        *twilio_instances.demo_instances(settings, organization_id),
        *inapp_instances.demo_instances(settings, organization_id),
    ]


class Connectors:
    """One connector per provider; `for_instance` picks the one a channel instance names."""

    def __init__(self, by_provider: Mapping[str, Connector]) -> None:
        self._by_provider = dict(by_provider)

    @classmethod
    def from_settings(cls, settings: Settings, publish_inapp: Publish, cipher: PhiCipher,
                      catalog: TemplateCatalog | None = None) -> Connectors:
        catalog = catalog or default_catalog()
        meta = MetaConnector(settings.meta, catalog)  # one of meta_caps.NAMES, by its auth header
        return cls({
            twilio_caps.PROVIDER: TwilioConnector(settings.twilio, catalog),
            meta.provider: meta,
            inapp_caps.PROVIDER: InAppConnector(publish_inapp, cipher, catalog),
            sns_caps.PROVIDER: SnsConnector(settings.sns, catalog),
            bird_caps.PROVIDER: BirdConnector(settings.bird, catalog),
        })

    def __getitem__(self, provider: str) -> Connector:
        return self._by_provider[provider]

    def for_instance(self, instance: ChannelInstance) -> Connector:
        try:
            return self._by_provider[instance.provider]
        except KeyError:
            raise ConfigError(f"channel instance {instance.id!r}: no connector configured for provider "
                              f"{instance.provider!r}") from None

    async def aclose(self) -> None:
        for connector in self._by_provider.values():
            await connector.aclose()
