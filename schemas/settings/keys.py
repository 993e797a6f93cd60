"""The development keys and the parsers of the PHI key ring and the pseudonym key."""
from __future__ import annotations

import base64
import binascii

from starlette.datastructures import Secret

from schemas.errors import ConfigError
from schemas.secrets import KeyRing
from schemas.settings.declare import Kind

# Development-only keys: `make run` and the tests use them so that a fresh clone works.
# `CARELAY_ENV=production` refuses to start with them, compared as decoded bytes (schemas/settings/production.py).
DEV_PHI_KEYS = "dev1:ZGV2LW9ubHktcGhpLWtleS0wMDAwMDAwMDAwMDAwMDA="
DEV_PSEUDONYM_KEY = "ZGV2LW9ubHktcHNldWRvbnltLWtleS0wMDAwMDAwMDA="
DEV_CONSOLE_SESSION_KEY = "dev-only-console-session-key-000000000000"
DEV_PATIENT_LINK_KEY = "ZGV2LW9ubHktcGF0aWVudC1saW5rLWtleS0wMDAwMDA="


def decode_key(var: str, text: str, *, size: int | None = 32) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{var}: not valid base64") from exc
    if size is not None and len(raw) != size:
        raise ConfigError(f"{var}: key must decode to {size} bytes, got {len(raw)}")
    if size is None and len(raw) < 16:
        raise ConfigError(f"{var}: key must decode to at least 16 bytes")
    return raw


def parse_key_ring(var: str, text: str) -> KeyRing:
    """`id1:base64key,id2:base64key`; the last entry is the newest and encrypts, all decrypt."""
    ring: list[tuple[str, bytes]] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        kid, sep, b64 = item.partition(":")
        if not sep or not kid:
            raise ConfigError(f"{var}: each entry must be key_id:base64_key")
        if any(k == kid for k, _ in ring):
            raise ConfigError(f"{var}: key id {kid!r} appears twice")
        ring.append((kid, decode_key(var, b64)))
    if not ring:
        raise ConfigError(f"{var}: at least one key is required")
    return KeyRing(ring)


def parse_pseudonym_key(var: str, text: str) -> Secret:
    decode_key(var, text, size=None)
    return Secret(text)


KEY_RING = Kind("key ring `id:base64(32 bytes),…`", parse_key_ring)
HMAC_KEY = Kind("base64, ≥ 16 bytes", parse_pseudonym_key)
