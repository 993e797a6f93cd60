"""Where the stack keeps its downloaded jars."""
from __future__ import annotations

from pathlib import Path

import pytest

from stack import kafka, registry
from stack.maven import cache_root


def test_cache_root_defaults_outside_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARELAY_STACK_CACHE", raising=False)
    assert cache_root() == Path.home() / ".cache" / "carelay"


def test_cache_root_and_homes_follow_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CARELAY_STACK_CACHE", str(tmp_path))
    assert cache_root() == tmp_path
    assert kafka.kafka_home() == tmp_path / "kafka-3.9.1"
    assert registry.registry_home() == tmp_path / "apicurio-registry-3.0.9"
