"""`make run` (python -m stack.cli run) on a fresh data dir: everything comes up, answers, and stops
in order on Ctrl-C and on a supervisor's SIGTERM, leaving no process behind."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from stack import monitoring
from stack.javaproc import free_port

READY_LINE = "Ctrl-C stops everything."


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_run_comes_up_and_stops_cleanly(tmp_path: Path, stop_signal: signal.Signals) -> None:
    kafka_port, registry_port, gateway_port = free_port(), free_port(), free_port()
    env = {**os.environ, "CARELAY_DATA_DIR": str(tmp_path / "var"),
           "CARELAY_KAFKA_BOOTSTRAP": f"127.0.0.1:{kafka_port}",
           "CARELAY_SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{registry_port}/apis/ccompat/v7",
           "CARELAY_GATEWAY_PORT": str(gateway_port)}
    proc = subprocess.Popen([sys.executable, "-m", "stack.cli", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if READY_LINE in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(240), "".join(lines[-30:])
        deadline = time.monotonic() + 60
        while httpx.get(f"http://127.0.0.1:{gateway_port}/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "the gateway never became ready"
            time.sleep(0.5)
        out = "".join(lines)
        assert f"staff console: http://127.0.0.1:{gateway_port}/console" in out
        assert "organization demo-clinic, username demo-staff, password demo-console-password" in out
        _demo_staff_signs_in(f"http://127.0.0.1:{gateway_port}")
        if not monitoring.missing_tools():  # Prometheus and Alertmanager run beside it, their URLs printed
            for url in ("http://127.0.0.1:9090", "http://127.0.0.1:9093"):
                assert url in out and httpx.get(f"{url}/-/ready", timeout=5).status_code == 200
        proc.send_signal(stop_signal)
        assert proc.wait(timeout=120) == 0, "".join(lines[-30:])
        reader.join(10)
        assert "carelay: stopping" in "".join(lines)
        for port in (kafka_port, registry_port, gateway_port):
            assert not _listening(port), f"something still listens on {port}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        reader.join(10)
        assert proc.stdout is not None
        proc.stdout.close()


def _demo_staff_signs_in(url: str) -> None:
    with httpx.Client(base_url=url, timeout=10) as browser:
        deadline = time.monotonic() + 30
        while True:  # the console's views load right after /readyz
            page = browser.get("/console/signin")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token, page.text
            r = browser.post("/console/signin", data={"organization": "demo-clinic", "username": "demo-staff",
                                                     "password": "demo-console-password", "csrf": token.group(1)})
            if r.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.status_code == 303 and r.headers["location"] == "/console/inbox", r.text
        assert browser.get("/console/inbox").status_code == 200
