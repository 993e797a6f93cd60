"""Field-level sealing of PHI (AES-256-GCM over a rotating key ring) and recipient pseudonyms (HMAC).

A sealed field is the Avro record `io.carelay.Sealed` {kid, nonce, ct, v}. The GCM associated data
binds the value to where it belongs, so anyone who can write to Kafka cannot move it elsewhere:

- v2 (what carelay seals): the organization, the record's id and the field's name (`aad_v2`), so a
  value cannot be moved to another field, another message or another organization.
- v1 (the previous format, and producers not yet upgraded): the field's name only. Opened while
  `CARELAY_PHI_ACCEPT_UNBOUND` is true (the migration window); refused once it is false.

Any language can write one: AES-256-GCM, 12-byte random nonce, AAD as `aad_v2` spells it.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from schemas.errors import PhiError

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
PSEUDONYM_HEX_CHARS = 32  # 128 bits: collision-free at any realistic patient count


UNBOUND, BOUND = 1, 2  # Sealed.v
AAD_V2_TAG = b"carelay.aad.v2"


class Sealed(TypedDict):
    kid: str
    nonce: bytes
    ct: bytes
    v: NotRequired[int]  # absent: 1 (records written before the field existed)


@dataclass(frozen=True)
class Binding:
    """Where a sealed value belongs: its organization and its record's id (a SendRequest's and its
    DispatchCommands' message_id, an InboundMessage's event_id, an AppointmentEvent's appointment_id,
    ...: see docs/security.md). An empty organization means none is known yet (a raw webhook)."""

    organization_id: str
    record_id: str


# The record id each event type binds its sealed fields to (with its organization_id, "" when it has
# none): a value copied into a record of another id must be resealed (PhiCipher.reseal). A
# DispatchCommand carries its SendRequest's fields unchanged: both are bound to the message id.
RECORD_IDS = {
    "SendRequest": "message_id", "DispatchCommand": "message_id", "InboundMessage": "event_id",
    "WebhookEnvelope": "envelope_id", "AppointmentEvent": "appointment_id", "CareEvent": "event_id",
    "AiMessage": "message_id", "InAppNotification": "notification_id", "PatientLink": "link_id",
    "WebhookEndpoint": "endpoint_id", "WebhookDelivery": "delivery_id",
}


def binding_of(value_type: str, record: Mapping[str, Any]) -> Binding:
    """The Binding of a record of `value_type` (an Avro record name of RECORD_IDS)."""
    return Binding(record.get("organization_id") or "", str(record[RECORD_IDS[value_type]]))


def aad_v2(binding: Binding, field: str) -> bytes:
    """b"carelay.aad.v2", then organization, record id and field name, each as a 4-byte big-endian
    length and its UTF-8 bytes: unambiguous whatever the ids contain."""
    out = [AAD_V2_TAG]
    for part in (binding.organization_id, binding.record_id, field):
        raw = part.encode("utf-8")
        out += [struct.pack(">I", len(raw)), raw]
    return b"".join(out)


class PhiCipher:
    """Seals with the newest key of the ring; opens with whichever key sealed the value."""

    def __init__(self, key_ring: Iterable[tuple[str, bytes]], *, accept_unbound: bool = True) -> None:
        ring = list(key_ring)
        if not ring:
            raise PhiError("the PHI key ring is empty")
        for kid, key in ring:
            if len(key) != 32:
                raise PhiError(f"PHI key {kid!r} is not 32 bytes (AES-256)")
        self._keys = {kid: AESGCM(key) for kid, key in ring}
        self._active_kid = ring[-1][0]
        self._active = self._keys[self._active_kid]
        self.accept_unbound = accept_unbound  # open v1 values (the migration window)

    @property
    def active_kid(self) -> str:
        return self._active_kid

    def seal(self, field: str, plaintext: str, binding: Binding | None = None) -> Sealed:
        """v2, bound to `binding`; without one, the v1 format (field name only): only for writers that
        have no record to bind to yet, and for tests standing in for producers not yet upgraded."""
        nonce = os.urandom(12)
        if binding is None:
            ct = self._active.encrypt(nonce, plaintext.encode("utf-8"), field.encode("utf-8"))
            return {"kid": self._active_kid, "nonce": nonce, "ct": ct, "v": UNBOUND}
        ct = self._active.encrypt(nonce, plaintext.encode("utf-8"), aad_v2(binding, field))
        return {"kid": self._active_kid, "nonce": nonce, "ct": ct, "v": BOUND}

    def open(self, field: str, sealed: Mapping[str, Any], binding: Binding | None = None) -> str:
        aead = self._keys.get(sealed["kid"])
        if aead is None:
            raise PhiError(f"field {field!r} sealed with unknown key id {sealed['kid']!r}")
        version = sealed.get("v") or UNBOUND
        if version == BOUND:
            if binding is None:
                raise PhiError(f"field {field!r} is bound to a record, and none was named to open it")
            aad = aad_v2(binding, field)
        elif version == UNBOUND:
            if not self.accept_unbound:
                raise PhiError(f"field {field!r} is sealed in the unbound format, refused "
                               "(CARELAY_PHI_ACCEPT_UNBOUND=false)")
            aad = field.encode("utf-8")
        else:
            raise PhiError(f"field {field!r} is sealed in an unknown format v{version}")
        try:
            return aead.decrypt(sealed["nonce"], sealed["ct"], aad).decode("utf-8")
        except InvalidTag as exc:
            raise PhiError(f"field {field!r} failed authentication (tampered, or sealed for another field, "
                           "record or organization)") from exc

    def seal_optional(self, field: str, plaintext: str | None, binding: Binding | None = None) -> Sealed | None:
        return None if plaintext is None else self.seal(field, plaintext, binding)

    def open_optional(self, field: str, sealed: Mapping[str, Any] | None, binding: Binding | None = None) -> str | None:
        return None if sealed is None else self.open(field, sealed, binding)

    def reseal(self, field: str, sealed: Mapping[str, Any], source: Binding | None, target: Binding) -> Sealed:
        """A value carried into another record (a reminder's number into its SendRequest): opened where
        it was, sealed for where it goes."""
        return self.seal(field, self.open(field, sealed, source), target)


def is_e164(number: str) -> bool:
    return bool(E164.match(number))


def normalize_address(address: str) -> str:
    """Strip a provider's channel prefix (`whatsapp:+52...`) and Meta's missing plus sign."""
    _, _, bare = address.rpartition(":")
    bare = bare.strip()
    if bare and not bare.startswith("+"):
        bare = "+" + bare
    return bare


class Pseudonymizer:
    """recipient_id = hex(HMAC-SHA256(key, organization_id | E.164))[:32], stable per organization."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise PhiError("the pseudonym key must be at least 16 bytes")
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def __call__(self, organization_id: str, e164: str) -> str:
        mac = self._mac.copy()
        mac.update(f"{organization_id}|{e164}".encode())
        return mac.hexdigest()[:PSEUDONYM_HEX_CHARS]
