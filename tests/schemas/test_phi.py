import base64

import pytest

from schemas.errors import PhiError
from schemas.phi import RECORD_IDS, Binding, PhiCipher, Pseudonymizer, aad_v2, binding_of, is_e164, normalize_address

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


# -- v2: bound to organization, record id and field ----------------------------------------------
BOUND = Binding("clinic-a", "m-1")
MOVES = [
    # (id, where it is opened, field it is opened as, expected: the plaintext or an error)
    ("same_place", BOUND, "recipient", "+5215512345678"),
    ("another_organization", Binding("clinic-b", "m-1"), "recipient", "failed authentication"),
    ("another_record", Binding("clinic-a", "m-2"), "recipient", "failed authentication"),
    ("another_field", BOUND, "text", "failed authentication"),
    ("ids_shifted_between_parts", Binding("clinic-am", "-1"), "recipient", "failed authentication"),
    ("no_binding_named", None, "recipient", "bound to a record"),
]


@pytest.mark.parametrize(("where", "field", "expected"), [m[1:] for m in MOVES], ids=[m[0] for m in MOVES])
def test_a_bound_value_opens_only_where_it_was_sealed(where: Binding | None, field: str, expected: str) -> None:
    cipher = PhiCipher([K1])
    sealed = cipher.seal("recipient", "+5215512345678", BOUND)
    assert sealed["v"] == 2
    if expected.startswith("+"):
        assert cipher.open(field, sealed, where) == expected
    else:
        with pytest.raises(PhiError, match=expected):
            cipher.open(field, sealed, where)


def test_aad_v2_fixed_vector():
    assert aad_v2(Binding("org", "m1"), "text") == (
        b"carelay.aad.v2" + b"\x00\x00\x00\x03org" + b"\x00\x00\x00\x02m1" + b"\x00\x00\x00\x04text")
    # what a producer in another language does for v2: the same AES-256-GCM with that AAD
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = b"\x07" * 12
    ct = AESGCM(K1[1]).encrypt(nonce, b"hola", aad_v2(Binding("org", "m1"), "text"))
    assert PhiCipher([K1]).open("text", {"kid": "k1", "nonce": nonce, "ct": ct, "v": 2}, Binding("org", "m1")) == "hola"


UNBOUND_CASES = [
    # (id, accept_unbound, expected)
    ("migration_window_opens_v1", True, "hola"),
    ("after_the_migration_v1_is_refused", False, "unbound format"),
]


@pytest.mark.parametrize(("accept", "expected"), [c[1:] for c in UNBOUND_CASES], ids=[c[0] for c in UNBOUND_CASES])
def test_unbound_values_open_only_during_the_migration_window(accept: bool, expected: str) -> None:
    old = {k: v for k, v in PhiCipher([K1]).seal("text", "hola").items() if k != "v"}  # written before `v` existed
    cipher = PhiCipher([K1], accept_unbound=accept)
    if expected == "hola":
        assert cipher.open("text", old, BOUND) == "hola"  # a binding named for a v1 value is not used
    else:
        with pytest.raises(PhiError, match=expected):
            cipher.open("text", old, BOUND)


def test_reseal_carries_a_value_into_another_record():
    cipher = PhiCipher([K1], accept_unbound=False)
    appointment, message = Binding("clinic-a", "appt-1"), Binding("clinic-a", "m-9")
    moved = cipher.reseal("recipient", cipher.seal("recipient", "+15550001111", appointment), appointment, message)
    assert cipher.open("recipient", moved, message) == "+15550001111"
    with pytest.raises(PhiError):
        cipher.open("recipient", moved, appointment)


def test_every_event_type_with_a_sealed_field_names_its_record_id():
    from schemas import contracts

    sealed_types = {n for n in contracts.EVENT_TYPES if '"io.carelay.Sealed"' in contracts.schema_text(n)
                    or '"name":"Sealed"' in contracts.schema_text(n)}
    assert len(sealed_types) >= 8 and sealed_types <= set(RECORD_IDS)
    assert binding_of("SendRequest", {"organization_id": "o", "message_id": "m"}) == Binding("o", "m")
    assert binding_of("InboundMessage", {"organization_id": None, "event_id": "e"}) == Binding("", "e")
