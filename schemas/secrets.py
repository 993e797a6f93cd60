"""The settings' secret values and the rules production holds them to (docs/security.md).

Pure helpers over plain data: `schemas.settings` parses the variables and calls them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

from schemas.errors import ConfigError

# Every value CARELAY_ENV may take, spelt exactly so. Anything else stops start-up: a misspelt
# `Production` must never run with the development keys, the demo API keys and cross-organization SQL.
ENVIRONMENTS = ("development", "production")


def parse_environment(var: str, text: str) -> str:
    if text not in ENVIRONMENTS:
        raise ConfigError(f"{var}: must be exactly one of {', '.join(ENVIRONMENTS)}")
    return text


class KeyRing(tuple[tuple[str, bytes], ...]):
    """The PHI key ring `((key_id, key), ...)`; its repr names the key ids, never the keys."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"KeyRing({', '.join(f'{kid}=**********' for kid, _ in self)})"

    __str__ = __repr__


class SecretUrl(str):
    """A URL that may carry a password (`http://user:pass@host/db`); its repr masks the password."""

    __slots__ = ()

    def __repr__(self) -> str:
        parts = urlsplit(str.__str__(self))
        if parts.password is None:
            return f"SecretUrl({str.__repr__(self)})"
        netloc = f"{parts.username or ''}:**********@{parts.hostname or ''}"
        netloc += f":{parts.port}" if parts.port else ""
        return f"SecretUrl({urlunsplit(parts._replace(netloc=netloc))!r})"


def production_refusals(given: Mapping[str, Iterable[bytes]], development: Mapping[str, bytes]) -> list[str]:
    """The variables of `given` with a value that is blank or equal, byte for byte, to its development value.

    `given` maps each secret variable to its values as bytes (decoded keys, not their base64 spelling, so
    another spelling of the development key is still the development key); `development` maps it to the
    built-in value.
    """
    refused = []
    for var, values in given.items():
        dev = development.get(var)
        if any(not value.strip() or value == dev for value in values):
            refused.append(var)
    return refused
