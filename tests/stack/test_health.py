"""stack.health: the containers' healthcheck (an HTTP answer, or a fresh heartbeat file)."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stack.health import HEARTBEAT_EVERY_S, Heartbeat, fresh, main


@pytest.mark.parametrize(("mtime", "now", "max_age", "ok"), [
    pytest.param(None, 100.0, 60.0, False, id="never-written"),
    pytest.param(100.0, 100.0, 60.0, True, id="just-written"),
    pytest.param(40.0, 100.0, 60.0, True, id="at-the-limit"),
    pytest.param(39.0, 100.0, 60.0, False, id="stale"),
])
def test_fresh(mtime: float | None, now: float, max_age: float, ok: bool) -> None:
    assert fresh(mtime, now, max_age) is ok


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_url_healthy_only_on_2xx(server: str) -> None:
    assert main([f"{server}/healthz"]) == 0
    assert main([f"{server}/readyz"]) == 1
    httpd_gone = "http://127.0.0.1:9/healthz"  # discard port: nothing listens
    assert main([httpd_gone, "--timeout", "0.5"]) == 1


def test_heartbeat_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "agent.alive"
    assert main(["--file", str(path)]) == 1
    beat = Heartbeat(path)
    beat.beat(now=1000.0)
    assert main(["--file", str(path), "--max-age", "60"]) == 0
    stamp = path.stat().st_mtime
    beat.beat(now=1000.0 + HEARTBEAT_EVERY_S / 2)  # too soon: no write
    assert path.stat().st_mtime == stamp


def test_url_or_file_not_both(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["http://x/", "--file", str(tmp_path / "f")])
    with pytest.raises(SystemExit):
        main([])
