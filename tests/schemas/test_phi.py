import base64

import pytest

from schemas.errors import PhiError
from schemas.phi import PhiCipher, Pseudonymizer, is_e164, normalize_address

K1 = ("k1", b"\x01" * 32)
K2 = ("k2", b"\x02" * 32)


def test_seal_open_round_trip_and_no_clear_text():
    cipher = PhiCipher([K1])
    sealed = cipher.seal("recipient", "+5215512345678")
    assert b"5512345678" not in sealed["ct"]
    assert sealed["kid"] == "k1" and len(sealed["nonce"]) == 12
    assert cipher.open("recipient", sealed) == "+5215512345678"


def test_nonces_differ_so_equal_plaintexts_do_not_link():
    cipher = PhiCipher([K1])
    assert cipher.seal("text", "hola")["ct"] != cipher.seal("text", "hola")["ct"]


def test_rotation_newest_seals_old_still_opens():
    old = PhiCipher([K1]).seal("text", "hola")
    rotated = PhiCipher([K1, K2])
    assert rotated.active_kid == "k2"
    assert rotated.seal("text", "x")["kid"] == "k2"
    assert rotated.open("text", old) == "hola"


def test_retired_key_cannot_open():
    sealed = PhiCipher([K1]).seal("text", "hola")
    with pytest.raises(PhiError, match="unknown key id"):
        PhiCipher([K2]).open("text", sealed)


def test_field_name_is_bound_as_associated_data():
    cipher = PhiCipher([K1])
    sealed = cipher.seal("recipient", "+5215512345678")
    with pytest.raises(PhiError, match="failed authentication"):
        cipher.open("text", sealed)


def test_tampered_ciphertext_is_rejected_without_leaking_value():
    cipher = PhiCipher([K1])
    sealed = cipher.seal("text", "secret body")
    sealed["ct"] = bytes([sealed["ct"][0] ^ 1]) + sealed["ct"][1:]
    with pytest.raises(PhiError) as info:
        cipher.open("text", sealed)
    assert "secret" not in str(info.value)


def test_interoperable_with_plain_aes_gcm():
    # what a producer in another language does: AES-256-GCM, 12-byte nonce, AAD = field name
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = b"\x07" * 12
    ct = AESGCM(K1[1]).encrypt(nonce, b"+15551234567", b"recipient")
    assert PhiCipher([K1]).open("recipient", {"kid": "k1", "nonce": nonce, "ct": ct}) == "+15551234567"


def test_bad_key_size_refused():
    with pytest.raises(PhiError):
        PhiCipher([("short", b"x" * 16)])


def test_pseudonym_fixed_vector_stable_and_scoped_by_organization():
    p = Pseudonymizer(base64.b64decode("ZGV2LW9ubHktcHNldWRvbnltLWtleS0wMDAwMDAwMDA="))
    # HMAC-SHA256(b"dev-only-pseudonym-key-000000000", b"org-a|+15551234567")[:32]
    import hashlib
    import hmac

    expected = hmac.new(b"dev-only-pseudonym-key-000000000", b"org-a|+15551234567", hashlib.sha256).hexdigest()[:32]
    assert p("org-a", "+15551234567") == expected == p("org-a", "+15551234567")
    assert p("org-b", "+15551234567") != expected
    assert len(expected) == 32


@pytest.mark.parametrize(
    ("number", "ok"),
    [("+5215512345678", True), ("+15551234567", True), ("5215512345678", False), ("+0123456789", False),
     ("+1 555 123 4567", False), ("+12", False), ("+1234567890123456", False), ("", False)],
)
def test_e164(number, ok):
    assert is_e164(number) is ok


@pytest.mark.parametrize(
    ("address", "bare"),
    [("whatsapp:+5215512345678", "+5215512345678"), ("5215512345678", "+5215512345678"),
     ("+15551234567", "+15551234567"), ("sms:+15551234567", "+15551234567")],
)
def test_normalize_address(address, bare):
    assert normalize_address(address) == bare
