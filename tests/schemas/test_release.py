"""`python -m schemas.release` in a scratch directory: a snapshot per changed contract, none when nothing changed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas import contracts
from schemas.release import main, release


@pytest.fixture
def released(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "released"
    monkeypatch.setattr(contracts, "RELEASED_DIR", folder)
    return folder


def test_a_first_release_snapshots_every_event_contract(released: Path) -> None:
    written = release()
    assert written == [f"{name}.v1.avsc" for name in contracts.EVENT_TYPES]
    for name in contracts.EVENT_TYPES:
        snapshot = json.loads((released / f"{name}.v1.avsc").read_text())
        assert snapshot == json.loads(contracts.schema_text(name))


def test_nothing_changed_nothing_released(released: Path) -> None:
    release()
    assert release() == []


def test_only_the_changed_contract_gets_a_new_version(released: Path) -> None:
    release()
    name = contracts.EVENT_TYPES[0]
    older = json.loads((released / f"{name}.v1.avsc").read_text())
    older["doc"] = "an older wording"
    (released / f"{name}.v1.avsc").write_text(json.dumps(older))
    assert release() == [f"{name}.v2.avsc"]
    assert [p.name for p in contracts.released_versions(name)] == [f"{name}.v1.avsc", f"{name}.v2.avsc"]


def test_the_command_prints_what_it_released(released: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"released {contracts.EVENT_TYPES[0]}.v1.avsc"
    assert main([]) == 0
    assert capsys.readouterr().out == ""
