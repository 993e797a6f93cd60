"""Builds the connectors a process needs from Settings, keyed by provider name."""
from __future__ import annotations

from collections.abc import Mapping

from connectors.base import ChannelInstance, Connector
from connectors.inapp import InAppConnector, Publish
from connectors.meta import MetaConnector
from connectors.twilio import TwilioConnector
from schemas.errors import ConfigError
from schemas.phi import PhiCipher
from schemas.settings import Settings
from schemas.templates import TemplateCatalog, default_catalog


class Connectors:
    """One connector per provider; `for_instance` picks the one a channel instance names."""

    def __init__(self, by_provider: Mapping[str, Connector]) -> None:
        self._by_provider = dict(by_provider)

    @classmethod
    def from_settings(cls, settings: Settings, publish_inapp: Publish, cipher: PhiCipher,
                      catalog: TemplateCatalog | None = None) -> Connectors:
        catalog = catalog or default_catalog()
        meta = MetaConnector(settings.meta, catalog)  # provider "meta", or "d360" by its auth header
        return cls({
            "twilio": TwilioConnector(settings.twilio, catalog),
            meta.provider: meta,
            "inapp": InAppConnector(publish_inapp, cipher, catalog),
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
