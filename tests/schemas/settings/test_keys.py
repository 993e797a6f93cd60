"""The PHI key ring and the pseudonym key as tables: each text, the keys it gives or the error naming the variable."""
from __future__ import annotations

import base64

import pytest

from schemas.errors import ConfigError
from schemas.settings.keys import DEV_PHI_KEYS, DEV_PSEUDONYM_KEY, decode_key, parse_key_ring, parse_pseudonym_key

K32 = base64.b64encode(b"k" * 32).decode()
K31 = base64.b64encode(b"k" * 31).decode()
K16 = base64.b64encode(b"p" * 16).decode()
K15 = base64.b64encode(b"p" * 15).decode()


@pytest.mark.parametrize(("text", "kids"), [
    pytest.param(f"a:{K32}", ["a"], id="one-key"),
    pytest.param(f"old:{K32}, new:{K32}", ["old", "new"], id="newest-last-spaces-trimmed"),
    pytest.param(f"a:{K32},,b:{K32},", ["a", "b"], id="empty-entries-skipped"),
    pytest.param(DEV_PHI_KEYS, ["dev1"], id="development-key"),
])
def test_key_ring(text: str, kids: list[str]) -> None:
    ring = parse_key_ring("V", text)
    assert [kid for kid, _ in ring] == kids
    assert all(len(key) == 32 for _, key in ring)
    assert K32 not in repr(ring) and "kkkk" not in repr(ring)  # the repr names the ids only


@pytest.mark.parametrize(("text", "error"), [
    pytest.param("", "at least one key is required", id="empty"),
    pytest.param(" , ", "at least one key is required", id="only-separators"),
    pytest.param(K32, "each entry must be key_id:base64_key", id="no-key-id"),
    pytest.param(f":{K32}", "each entry must be key_id:base64_key", id="empty-key-id"),
    pytest.param(f"a:{K32},a:{K32}", "key id 'a' appears twice", id="duplicate-id"),
    pytest.param("a:not base64!", "not valid base64", id="not-base64"),
    pytest.param(f"a:{K31}", "key must decode to 32 bytes, got 31", id="short-key"),
])
def test_bad_key_ring_names_the_variable(text: str, error: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_key_ring("CARELAY_PHI_KEYS", text)
    assert str(info.value) == f"CARELAY_PHI_KEYS: {error}"
    assert K32 not in str(info.value)


@pytest.mark.parametrize(("text", "size", "error"), [
    pytest.param(K32, 32, None, id="exact-size"),
    pytest.param(K31, 32, "key must decode to 32 bytes, got 31", id="wrong-size"),
    pytest.param(K16, None, None, id="any-size-from-16"),
    pytest.param(K15, None, "key must decode to at least 16 bytes", id="any-size-below-16"),
    pytest.param("%%%", None, "not valid base64", id="not-base64"),
    pytest.param("é", None, "not valid base64", id="not-ascii"),
])
def test_decode_key(text: str, size: int | None, error: str | None) -> None:
    if error is None:
        assert decode_key("V", text, size=size) == base64.b64decode(text)
    else:
        with pytest.raises(ConfigError, match=f"^V: {error}$"):
            decode_key("V", text, size=size)


def test_pseudonym_key_is_kept_secret() -> None:
    secret = parse_pseudonym_key("V", DEV_PSEUDONYM_KEY)
    assert str(secret) == DEV_PSEUDONYM_KEY and DEV_PSEUDONYM_KEY not in repr(secret)
    with pytest.raises(ConfigError, match=r"^V: key must decode to at least 16 bytes$"):
        parse_pseudonym_key("V", K15)
