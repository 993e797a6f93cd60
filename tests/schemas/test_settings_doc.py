"""Settings are declared once: docs/settings.md is generated from the declarations, and every
CARELAY_ variable the code reads is one of them (or listed as a test / local-stack variable)."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from schemas.errors import ConfigError
from schemas.settings import LOCAL_ONLY, Settings, declared_variables
from schemas.settings.__main__ import reference
from schemas.settings.declare import declared, groups

ROOT = Path(__file__).resolve().parents[2]
# A whole variable name: a trailing `_` (a prefix in prose, `CARELAY_ANALYTICS_*`, an f-string) is no read.
VARIABLE = re.compile(r"\bCARELAY_[A-Z0-9_]*[A-Z0-9]\b")
CODE = ("*.py", "Makefile", "Dockerfile", "docker-compose.yml", "*.sh", "*.toml")


def test_docs_settings_md_is_current():
    current = (ROOT / "docs" / "settings.md").read_text()
    assert current == reference(), "docs/settings.md is stale: run `make settings-doc`"


def test_every_field_declares_its_variable_once_with_a_description():
    names = declared_variables()
    assert len(names) > 90
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
    for group in groups(Settings):
        undeclared = {f.name for f in dataclasses.fields(group)} - {f.name for f, _ in declared(group)}
        assert all(dataclasses.is_dataclass(f.default_factory) for f in dataclasses.fields(group)
                   if f.name in undeclared), (group.__name__, undeclared)
        for f, decl in declared(group):
            assert decl.var.startswith("CARELAY_") and decl.doc.strip(), (group.__name__, f.name)
            assert "|" not in decl.doc, decl.var  # a table cell


def code_files() -> list[Path]:
    skip = {".venv", ".git", "node_modules", "var"}
    return sorted(p for pattern in CODE for p in ROOT.rglob(pattern)
                  if p.is_file() and not skip & set(p.relative_to(ROOT).parts))


def test_every_variable_read_anywhere_is_declared():
    read = {(m, str(p.relative_to(ROOT))) for p in code_files() for m in VARIABLE.findall(p.read_text())}
    known = set(declared_variables()) | set(LOCAL_ONLY)
    assert len(read) > 100
    assert sorted((var, where) for var, where in read if var not in known) == []
    assert set(LOCAL_ONLY).isdisjoint(declared_variables())


@pytest.mark.parametrize(("var", "value", "message"), [
    pytest.param("CARELAY_GATEWAY_PORT", "eighty", "CARELAY_GATEWAY_PORT: Config 'CARELAY_GATEWAY_PORT' has value "
                 "'eighty'. Not a valid int.", id="not-an-integer"),
    pytest.param("CARELAY_GATEWAY_LINGER_MS", "-2", "CARELAY_GATEWAY_LINGER_MS: must not be negative", id="negative"),
    pytest.param("CARELAY_STREAMS_SESSION_TIMEOUT_S", "5", "CARELAY_STREAMS_SESSION_TIMEOUT_S: must be at least 6",
                 id="below-minimum"),
    pytest.param("CARELAY_CONSOLE_IDLE_S", "-1", "CARELAY_CONSOLE_IDLE_S: must not be negative",
                 id="negative-before-minimum"),
    pytest.param("CARELAY_META_PER_SECOND", "0", "CARELAY_META_PER_SECOND: must be positive", id="not-positive"),
    pytest.param("CARELAY_ANALYTICS_BATCH_ROWS", "x", "CARELAY_ANALYTICS_BATCH_ROWS: Config "
                 "'CARELAY_ANALYTICS_BATCH_ROWS' has value 'x'. Not a valid float.", id="count-not-a-number"),
    pytest.param("CARELAY_PHI_ACCEPT_UNBOUND", "yes", "CARELAY_PHI_ACCEPT_UNBOUND: Config "
                 "'CARELAY_PHI_ACCEPT_UNBOUND' has value 'yes'. Not a valid bool.", id="not-a-flag"),
    pytest.param("CARELAY_META_APP_SECRET", " ", "CARELAY_META_APP_SECRET: must not be empty (an empty key signs "
                 "for anyone)", id="blank-secret"),
    pytest.param("CARELAY_ENV", "prod", "CARELAY_ENV: must be exactly one of development, production",
                 id="environment"),
])
def test_errors_come_from_the_declaration(var, value, message):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({var: value})
    assert str(caught.value) == message


def test_defaults_of_the_object_are_those_of_an_empty_environment():
    assert Settings.from_env({}) == dataclasses.replace(
        Settings(), analytics=dataclasses.replace(Settings().analytics, group_id="carelay.analytics"))
