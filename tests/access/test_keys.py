"""API keys: hashed storage, both headers, roles, the key file, production refusing the demo keys."""
from __future__ import annotations

import json

import pytest

from access.keys import (
    DEMO_KEYS,
    Action,
    Forbidden,
    KeyStore,
    Role,
    Unauthenticated,
    authenticate,
    authorize,
    hash_key,
    presented_key,
)
from schemas.errors import ConfigError


def test_demo_store_knows_both_clinics():
    store = KeyStore.demo()
    assert store.lookup("demo-clinic-sender-key").organization_id == "demo-clinic"
    assert store.lookup("other-clinic-sender-key").organization_id == "other-clinic"
    assert store.lookup("nope") is None
    assert {role for *_, role in DEMO_KEYS} == set(Role)


@pytest.mark.parametrize(("headers", "expected"), [
    ({"authorization": "Bearer abc"}, "abc"),
    ({"authorization": "bearer  abc "}, "abc"),
    ({"authorization": "Basic abc"}, None),
    ({"x-api-key": "abc"}, "abc"),
    ({"x-api-key": "  "}, None),
    ({}, None),
])
def test_presented_key(headers, expected):
    assert presented_key(headers) == expected


def test_roles():
    store = KeyStore.demo()
    for clear, allowed in (("demo-clinic-sender-key", True), ("demo-clinic-admin-key", True),
                           ("demo-clinic-analyst-key", False), ("demo-clinic-auditor-key", False)):
        key = authenticate(store, {"x-api-key": clear})
        authorize(key, Action.READ)
        if allowed:
            authorize(key, Action.SEND)
        else:
            with pytest.raises(Forbidden):
                authorize(key, Action.SEND)
    with pytest.raises(Unauthenticated):
        authenticate(store, {"x-api-key": "wrong"})
    with pytest.raises(Unauthenticated):
        authenticate(store, {})


def test_key_file(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([{"key_id": "k1", "sha256": hash_key("s3cret"), "organization_id": "org1",
                                 "role": "auditor"}]))
    store = KeyStore.from_settings(str(path), "production", demo_keys=False)
    key = store.lookup("s3cret")
    assert key is not None and (key.key_id, key.role) == ("k1", Role.AUDITOR)
    assert "s3cret" not in path.read_text()


def _entry(**fields: object) -> str:
    return json.dumps([{"key_id": "k", "sha256": hash_key("a"), "organization_id": "o", "role": "sender", **fields}])


@pytest.mark.parametrize("content", [
    pytest.param("not json", id="not-json"),
    pytest.param("{}", id="not-a-list"),
    pytest.param(json.dumps([{"key_id": "k"}]), id="missing-fields"),
    pytest.param(_entry(sha256="zz"), id="bad-sha256"),
    pytest.param(_entry(role="root"), id="unknown-role"),
    pytest.param(json.dumps([{"key_id": k, "sha256": hash_key("a"), "organization_id": "o", "role": "sender"}
                             for k in "ab"]), id="duplicate-key"),
    pytest.param(_entry(organization_id=""), id="empty-organization"),
    pytest.param(_entry(organization_id="  "), id="blank-organization"),
    pytest.param(_entry(organization_id=" o"), id="organization-with-blanks"),
    pytest.param(_entry(organization_id=None), id="null-organization"),
    pytest.param(_entry(organization_id=7), id="number-organization"),
    pytest.param(_entry(key_id=""), id="empty-key-id"),
])
def test_bad_key_files_fail_at_start(tmp_path, content):
    path = tmp_path / "keys.json"
    path.write_text(content)
    with pytest.raises(ConfigError):
        KeyStore.from_file(path)


def test_production_refuses_the_demo_keys():
    with pytest.raises(ConfigError):
        KeyStore.from_settings("", "production", demo_keys=True)
