"""Live inbox over Server-Sent Events, through a real HTTP server: a notice reaches an open browser's
stream within 2 s of its record reaching Kafka, rendered with the page's own partial; an acknowledged
one is removed from every open inbox."""
from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from gateway.app import create_app
from schemas.settings import Settings
from tests.gateway.console.support import (
    console_of,
    csrf,
    notice_id_of,
    notice_record,
    produce_notice,
    sign_in,
    wait_console,
    wait_for,
    write_accounts,
)


class Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # runs in a thread
        pass


@pytest.fixture(scope="module")
def base_url(shared_settings: Settings) -> Iterator[tuple[str, object]]:
    write_accounts(shared_settings)
    app = create_app(shared_settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the server")
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200, "ready")
    wait_console(app)
    yield url, app
    server.should_exit = True
    thread.join(timeout=10)


def listen(client: httpx.Client, url: str, out: queue.Queue[tuple[float, str]], stop: threading.Event) -> None:
    try:
        _listen(client, url, out, stop)
    except (httpx.HTTPError, RuntimeError):  # the test closed the browser (or the server stopped) under it
        if not stop.is_set():
            raise


def _listen(client: httpx.Client, url: str, out: queue.Queue[tuple[float, str]], stop: threading.Event) -> None:
    with client.stream("GET", url, timeout=httpx.Timeout(5.0, read=30.0)) as r:
        out.put((time.monotonic(), f"status {r.status_code}"))
        event: list[str] = []
        for line in r.iter_lines():
            if stop.is_set():
                return
            if line == "":
                if event:
                    out.put((time.monotonic(), "\n".join(event)))
                event = []
            else:
                event.append(line)


def await_event(out: queue.Queue[tuple[float, str]], needle: str, timeout_s: float) -> tuple[float, str]:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            at, text = out.get(timeout=max(0.01, end - time.monotonic()))
        except queue.Empty:
            break
        if needle in text:
            return at, text
    raise AssertionError(f"no event with {needle} within {timeout_s} s")


def test_a_notice_reaches_open_inboxes_within_two_seconds_and_leaves_when_acknowledged(base_url, shared_settings):
    url, app = base_url
    browsers = {name: httpx.Client(base_url=url) for name in ("alice", "bob", "olga")}
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        for name, org in (("alice", "demo-clinic"), ("bob", "demo-clinic"), ("olga", "other-clinic")):
            assert sign_in(browsers[name], org, name).status_code == 303
        streams = {name: queue.Queue() for name in browsers}
        threads += [threading.Thread(target=listen, args=(browsers[n], "/console/inbox/events", streams[n], stop),
                                    daemon=True) for n in browsers]
        for t in threads:
            t.start()
        for name in browsers:
            assert "status 200" in await_event(streams[name], "status", 10)[1]
        con = console_of(app)
        wait_for(lambda: con.hub.listeners() == 3, "three open streams")

        record = notice_record("demo-clinic", "reschedule_requested")
        sent = time.monotonic()
        domid = produce_notice(app, shared_settings, record)
        at, text = await_event(streams["alice"], domid, 2.0)
        assert at - sent < 2.0
        assert "event: inbox" in text and "The patient asked for another date or time." in text
        assert 'id="inbox-counts" hx-swap-oob="true"' in text  # the counts table follows along
        await_event(streams["bob"], domid, 2.0)

        page = browsers["alice"].get("/console/inbox")
        assert domid in page.text
        r = browsers["alice"].post(f"/console/inbox/{notice_id_of(page.text, domid)}",
                                   data={"action": "acknowledged", "csrf": csrf(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/console/inbox?done=acknowledged"
        _, gone = await_event(streams["bob"], f'id="{domid}" hx-swap-oob="delete"', 2.0)
        assert 'id="inbox-counts" hx-swap-oob="true"' in gone
        with pytest.raises(AssertionError):
            await_event(streams["olga"], domid, 0.5)  # another clinic hears nothing of it
    finally:
        stop.set()
        for b in browsers.values():
            b.close()
        for t in threads:
            t.join(timeout=35)
