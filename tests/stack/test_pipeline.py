"""Pipeline as a context manager: what `with` starts it also stops, even when start-up fails half way."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stack.errors import StackError
from stack.pipeline import Pipeline, Ports, Spec


def _pipeline(tmp_path: Path, *specs: Spec) -> Pipeline:
    pipe = Pipeline({}, tmp_path, ports=Ports.free(), workers=0, analytics=False, ai_agent=False)
    pipe.specs = list(specs)
    return pipe


def _spec(name: str, code: str) -> Spec:
    return Spec(name, [sys.executable, "-c", code], {}, lambda: True, name)


def test_with_starts_every_process_and_stops_them_on_exit(tmp_path: Path) -> None:
    with _pipeline(tmp_path, _spec("a", "import time; time.sleep(60)"),
                   _spec("b", "import time; time.sleep(60)")) as pipe:
        assert all(p.running for p in pipe.procs.values()) and set(pipe.procs) == {"a", "b"}
    assert pipe.dead() == list(pipe.procs.values())


def test_a_failed_start_stops_the_processes_already_started(tmp_path: Path) -> None:
    never_ready = Spec("broken", [sys.executable, "-c", "raise SystemExit(3)"], {}, lambda: False, "broken")
    pipe = _pipeline(tmp_path, _spec("first", "import time; time.sleep(60)"), never_ready)
    with pytest.raises(StackError, match="broken exited during start-up"), pipe:
        pytest.fail("the body must not run when start-up fails")
    assert not pipe.procs["first"].running
