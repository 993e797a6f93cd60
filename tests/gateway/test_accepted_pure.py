"""The accepted-sends view reads a SendRequest's ids without decoding its sealed rest."""
from __future__ import annotations

import pytest

from gateway.accepted import HEADER, leading_ids
from schemas.codec import AvroCodec
from schemas.phi import PhiCipher, Pseudonymizer
from schemas.registry import InProcessRegistry
from tests.schemas.examples import examples

IDS = [
    ("uuid_and_slug", "6f1c3c1e-5b0e-4c55-9b7e-8c2a9d1f0a11", "demo-clinic"),
    ("long_org_needs_two_varint_bytes", "m-1", "o" * 200),
    ("non_ascii", "m-ñ", "clínica-norte"),
]

EXAMPLES = examples(PhiCipher([("t1", b"\x05" * 32)]), Pseudonymizer(b"\x06" * 32))


@pytest.mark.parametrize(("case", "message_id", "organization_id"), IDS, ids=[row[0] for row in IDS])
def test_leading_ids_match_the_full_decode(case: str, message_id: str, organization_id: str) -> None:
    codec = AvroCodec("SendRequest", "t-send-value", InProcessRegistry())
    data = codec.encode(EXAMPLES["SendRequest"] | {"message_id": message_id, "organization_id": organization_id})
    assert leading_ids(data[HEADER:]) == (message_id, organization_id)
    full = codec.decode(data)
    assert (full["message_id"], full["organization_id"]) == (message_id, organization_id)


@pytest.mark.parametrize("body", [b"", b"\x80", b"\x10abc"], ids=["empty", "unfinished_varint", "short_string"])
def test_a_truncated_body_is_refused(body: bytes) -> None:
    with pytest.raises((ValueError, IndexError)):
        leading_ids(body)
