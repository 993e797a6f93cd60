"""Every entry point answers `--help` with its usage and starts nothing: no socket, process, thread,
Kafka client or file (tests/stack/help_probe.py makes each of those end the run)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from schemas import contracts

REPO = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("help_probe.py")

MODULES = [
    ["streams"],
    ["streams.webhooks"],
    ["analytics.sink"],
    ["analytics.service"],
    ["analytics.report"],
    ["stack.reference_agent"],
    ["stack.health"],
    ["schemas.release"],
    ["schemas.settings"],
    ["stack.demo"],
    ["stack.cli"],
    ["stack.cli", "run"],
    ["stack.cli", "demo"],
    ["stack.cli", "report"],
    ["stack.cli", "users"],
    ["stack.cli", "keys"],
    ["stack.keys"],
    ["stack.cli", "users", "add"],
    ["gateway.console.users"],
    ["stack.kafka"],
    ["stack.registry"],
    ["stack.simulator"],
    ["stack.bench"],
    ["stack.screenshots"],
    ["stack.gatewaybench"],
    ["stack.reportbench"],
    ["stack.deps"],
]


def scripts() -> list[list[str]]:
    """The console scripts pyproject.toml installs (`carelay = "stack.cli:main"`)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [[target] for target in project.get("scripts", {}).values()]


def every_main_module() -> set[str]:
    """Modules of the packages that run as `python -m` (a __main__.py, or a `__name__ == "__main__"` block)."""
    found = set()
    for package in ("streams", "schemas", "connectors", "gateway", "analytics", "stack"):
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text()
            if path.name == "__main__.py" or 'if __name__ == "__main__"' in text:
                parts = path.relative_to(REPO).with_suffix("").parts
                found.add(".".join(parts[:-1] if path.name == "__main__.py" else parts))
    return found


def test_the_list_covers_every_entry_point():
    assert every_main_module() <= {argv[0] for argv in MODULES}
    assert scripts(), "pyproject.toml declares no scripts?"


@pytest.fixture
def trap():
    """A listening socket every CARELAY_* address points at: nothing may connect to it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.setblocking(False)
        yield listener


@pytest.mark.parametrize("argv", [*MODULES, *scripts()], ids=lambda argv: " ".join(argv))
def test_help_prints_usage_and_starts_nothing(argv, trap, tmp_path):
    port = trap.getsockname()[1]
    work = tmp_path / "cwd"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELAY_")}
    env.update({
        "PYTHONPATH": str(REPO), "CARELAY_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}",
        "CARELAY_SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{port}/apis/ccompat/v7",
        "CARELAY_DATA_DIR": str(work / "var"), "CARELAY_CLICKHOUSE_PATH": str(work / "chdb"),
        "CARELAY_DEMO_API_KEYS": "true", "CARELAY_ANALYTICS_URL": f"http://127.0.0.1:{port}",
    })
    released = sorted(p.name for p in contracts.RELEASED_DIR.iterdir())
    began = time.monotonic()
    done = subprocess.run([sys.executable, str(PROBE), *argv, "--help"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout.lower(), done.stdout
    assert took < 30, f"--help took {took:.1f} s"
    with pytest.raises(BlockingIOError):
        trap.accept()  # nobody connected
    assert list(work.iterdir()) == []  # no file, no data directory
    assert sorted(p.name for p in contracts.RELEASED_DIR.iterdir()) == released
