"""Channel instances are configuration: a JSON file (CARELAY_CHANNELS_FILE) or the built-in demo set.

File format (a list, or {"instances": [...]}); per (organization, channel) the file order is the
preference order unless `priority` (lower first) says otherwise:

    [{"id": "clinic-wa-meta", "organization_id": "clinic", "channel": "WHATSAPP", "provider": "meta",
      "sender": "100000000000001", "credentials_ref": "default", "per_second": 80,
      "config": {"display_phone_number": "+15550001111"}}, ...]
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from connectors.base import ChannelInstance
from connectors.factory import PROVIDERS, capabilities, demo_instances
from schemas.errors import ConfigError
from schemas.phi import normalize_address
from schemas.settings import Settings


class ChannelDirectory:
    """Lookups over the configured instances; immutable once built."""

    def __init__(self, instances: Iterable[ChannelInstance]) -> None:
        self._all = tuple(instances)
        self._by_id: dict[str, ChannelInstance] = {}
        self._by_org_channel: dict[tuple[str, str], list[ChannelInstance]] = {}
        self._by_address: dict[tuple[str, str], list[ChannelInstance]] = {}
        self._own: set[str] = set()
        for inst in self._all:
            if inst.id in self._by_id:
                raise ConfigError(f"CARELAY_CHANNELS_FILE: channel instance id {inst.id!r} appears twice")
            _known_provider(inst)
            self._by_id[inst.id] = inst
            self._by_org_channel.setdefault((inst.organization_id, inst.channel), []).append(inst)
            family = capabilities(inst.provider).address_family
            if family is not None:
                self._by_address.setdefault((family, _address_key(inst.provider, inst.sender)), []).append(inst)
            self._own.update(_own_numbers(inst))

    def __iter__(self) -> Any:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    def get(self, instance_id: str) -> ChannelInstance:
        try:
            return self._by_id[instance_id]
        except KeyError:
            raise ConfigError(f"unknown channel instance {instance_id!r}") from None

    def for_channel(self, organization_id: str, channel: str) -> tuple[ChannelInstance, ...]:
        """The organization's instances for a channel, most preferred first (may be empty)."""
        return tuple(self._by_org_channel.get((organization_id, channel), ()))

    def channels(self, organization_id: str) -> tuple[str, ...]:
        return tuple(ch for org, ch in self._by_org_channel if org == organization_id)

    def instance_for_address(self, provider: str, address: str, channel: str | None = None) -> ChannelInstance | None:
        """The instance that owns a receiving address as the provider spells it (a number in any
        spelling, or an opaque id). With `channel`, prefer the instance of that channel."""
        family = capabilities(provider).address_family
        found = self._by_address.get((family, _address_key(provider, address)), []) if family else []
        if channel is not None:
            for inst in found:
                if inst.channel == channel:
                    return inst
        return found[0] if found else None

    def organization_for(self, provider: str, address: str) -> str | None:
        """The organization an inbound webhook belongs to, keyed by the address that received it."""
        inst = self.instance_for_address(provider, address)
        return inst.organization_id if inst else None

    def is_own_sender(self, address: str) -> bool:
        """True for any of our own numbers (in any provider spelling): never a patient (loop guard)."""
        return normalize_address(address) in self._own


def _known_provider(inst: ChannelInstance) -> None:
    if inst.provider not in PROVIDERS:
        raise ConfigError(f"channel instance {inst.id!r}: unknown provider {inst.provider!r}")


def _address_key(provider: str, address: str) -> str:
    # numbers compare in any spelling; opaque ids as given
    return normalize_address(address) if capabilities(provider).numeric_addresses else address.strip()


def _own_numbers(inst: ChannelInstance) -> list[str]:
    found = [normalize_address(inst.sender)] if capabilities(inst.provider).numeric_addresses else []
    display = inst.config.get("display_phone_number")
    if isinstance(display, str) and display:
        found.append(normalize_address(display))
    return found


def instance_from_dict(raw: Mapping[str, Any]) -> ChannelInstance:
    try:
        inst = ChannelInstance(
            id=str(raw["id"]),
            organization_id=str(raw["organization_id"]),
            channel=str(raw["channel"]).upper(),
            provider=str(raw["provider"]).lower(),
            sender=str(raw["sender"]),
            credentials_ref=str(raw.get("credentials_ref", "default")),
            per_second=float(raw.get("per_second", 1.0)),
            config=dict(raw.get("config") or {}),
        )
        if inst.provider not in PROVIDERS:
            raise ValueError(f"channel instance {inst.id!r}: unknown provider {inst.provider!r}")
        return inst
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"CARELAY_CHANNELS_FILE: bad channel instance {raw.get('id')!r}: {exc}") from None


def load_file(path: str | Path) -> ChannelDirectory:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"CARELAY_CHANNELS_FILE: cannot read {path}: {type(exc).__name__}") from exc
    items = raw.get("instances") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise ConfigError("CARELAY_CHANNELS_FILE: expected a list of channel instances")
    indexed = list(enumerate(items))
    indexed.sort(key=lambda pair: (int(pair[1].get("priority", 0)), pair[0]))
    return ChannelDirectory(instance_from_dict(item) for _, item in indexed)


def load_directory(settings: Settings) -> ChannelDirectory:
    """From CARELAY_CHANNELS_FILE when set, else the demo set for 'demo-clinic'."""
    if settings.channels_file:
        return load_file(settings.channels_file)
    return ChannelDirectory(demo_instances(settings))
