"""Meta webhook signature: fixed vectors (RFC 4231-style HMAC-SHA256, computed independently with openssl)."""
from __future__ import annotations

import pytest

from connectors.meta.signature import sign, verify_signature

BODY = b'{"object":"whatsapp_business_account","entry":[]}'
VECTORS = [
    (b"dev-meta-app-secret", BODY, "bc3ce08aace823ca2242657533384b2f2ac4118bdd545a0968c1f1e6bb839aa1"),
    (b"key", b"", "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0"),
    (b"key", b"The quick brown fox jumps over the lazy dog",
     "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"),
]


@pytest.mark.parametrize(("secret", "body", "hexdigest"), VECTORS)
def test_known_vectors_verify(secret: bytes, body: bytes, hexdigest: str) -> None:
    assert sign(secret, body) == f"sha256={hexdigest}"
    assert verify_signature(secret, body, f"sha256={hexdigest}")
    assert verify_signature(secret, body, f"sha256={hexdigest.upper()}")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "bc3ce08aace823ca2242657533384b2f2ac4118bdd545a0968c1f1e6bb839aa1",  # no scheme
        "sha1=bc3ce08aace823ca2242657533384b2f2ac4118bdd545a0968c1f1e6bb839aa1",
        "sha256=bc3ce08aace823ca2242657533384b2f2ac4118bdd545a0968c1f1e6bb839aa0",  # one nibble off
        "sha256=not-hex",
    ],
)
def test_bad_headers_fail(header: str | None) -> None:
    assert not verify_signature(b"dev-meta-app-secret", BODY, header)


def test_body_tamper_and_wrong_secret_fail() -> None:
    good = sign(b"dev-meta-app-secret", BODY)
    assert not verify_signature(b"dev-meta-app-secret", BODY + b" ", good)
    assert not verify_signature(b"other-secret", BODY, good)
    assert not verify_signature(b"", BODY, good)
