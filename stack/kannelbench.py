"""The peer in `make bench`: Kannel (Debian's SMS gateway, in C) running the same loop as carelay.

HTTP send (smsbox's `/cgi-bin/sendsms`) -> bearerbox -> Kannel's fake SMSC (`fakesmsc`, a TCP
client that plays the operator) -> two delivery reports (8: delivered to the SMSC, 1: delivered to
the phone) posted back over HTTP to a receiver here (`dlr-url`). A message's loop is complete when
its final report (1) arrives. The figures: full-loop messages/s, and Kannel's own CPU per message
(bearerbox + smsbox + fakesmsc, utime + stime from /proc over the timed window). carelay's figures are
then printed as ratios to these (`ratios`, `ratio_lines`: pure, unit-tested).

Debian ships bearerbox and smsbox in `kannel`, fakesmsc in `kannel-extras` (`make kannel` installs
both where it can); without them `measure` returns None and the bench says so.
"""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import aiohttp

from stack.benchkit import cpu_seconds
from stack.javaproc import free_port, port_open

FAKESMSC_DIRS = ("/usr/lib/kannel/test",)  # where kannel-extras puts it (not on PATH)
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin")
DLR_SMSC, DLR_PHONE = 8, 1  # Kannel's report types: delivered to the SMSC, delivered to the phone


@dataclass(frozen=True)
class Binaries:
    bearerbox: str
    smsbox: str
    fakesmsc: str


def find_binaries() -> Binaries | None:
    """Kannel's three programs, or None when any is missing."""
    search = ":".join(SBIN_DIRS + FAKESMSC_DIRS)
    found = [shutil.which(name) or shutil.which(name, path=search) for name in ("bearerbox", "smsbox", "fakesmsc")]
    if not all(found):
        return None
    bearerbox, smsbox, fakesmsc = (str(path) for path in found)
    return Binaries(bearerbox, smsbox, fakesmsc)


def missing_text() -> str:
    return ("Kannel not installed (bearerbox and smsbox from Debian's `kannel`, fakesmsc from `kannel-extras`; "
            "`make kannel` as root installs them): no peer figures, no ratios")


@dataclass(frozen=True)
class KannelPorts:
    admin: int
    smsbox: int
    smsc: int
    sendsms: int

    @classmethod
    def free(cls) -> KannelPorts:
        return cls(free_port(), free_port(), free_port(), free_port())


def config(ports: KannelPorts) -> str:
    """bearerbox's and smsbox's configuration: one fake SMSC, one sendsms user, reports kept in memory,
    errors only in the logs (a log line per message would be Kannel's cost, not the loop's)."""
    return f"""group = core
admin-port = {ports.admin}
admin-password = bench
admin-allow-ip = 127.0.0.1
smsbox-port = {ports.smsbox}
box-allow-ip = 127.0.0.1
dlr-storage = internal
log-level = 4

group = smsc
smsc = fake
smsc-id = fake
port = {ports.smsc}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports.smsbox}
sendsms-port = {ports.sendsms}
sendsms-interface = 127.0.0.1
log-level = 4

group = sendsms-user
username = bench
password = bench

group = sms-service
keyword = default
catch-all = true
text = "ok"
"""


@dataclass
class Kannel:
    """Running bearerbox, fakesmsc and smsbox, and where to send."""

    sendsms_url: str
    pids: dict[str, int]
    logs: Path

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids.values())


@contextmanager
def running(binaries: Binaries, timeout: float = 30) -> Iterator[Kannel]:
    """Kannel's three processes in a temporary directory, stopped (TERM, then KILL) on exit."""
    ports = KannelPorts.free()
    with tempfile.TemporaryDirectory(prefix="carelay-kannel-") as tmp:
        root = Path(tmp)
        conf = root / "kannel.conf"
        conf.write_text(config(ports))
        procs: dict[str, subprocess.Popen[bytes]] = {}

        def start(name: str, argv: list[str]) -> None:
            with (root / f"{name}.log").open("wb") as log:
                procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 - fixed argv

        try:
            start("bearerbox", [binaries.bearerbox, "-v", "4", str(conf)])
            _wait(lambda: port_open(ports.smsc), timeout, "bearerbox's fake SMSC port", procs)
            # -m 0: fakesmsc originates nothing, it only takes the messages and prints them (-v 4: errors)
            start("fakesmsc", [binaries.fakesmsc, "-v", "4", "-H", "127.0.0.1", "-r", str(ports.smsc), "-m", "0",
                               "1 2 text unused"])
            start("smsbox", [binaries.smsbox, "-v", "4", str(conf)])
            _wait(lambda: port_open(ports.sendsms), timeout, "smsbox's sendsms port", procs)
            yield Kannel(f"http://127.0.0.1:{ports.sendsms}/cgi-bin/sendsms",
                         {name: proc.pid for name, proc in procs.items()}, root)
        finally:
            for name in ("smsbox", "fakesmsc", "bearerbox"):
                if name in procs:
                    _stop(procs[name])


def _wait(ready: Any, timeout: float, what: str, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        dead = [name for name, proc in procs.items() if proc.poll() is not None]
        if dead or time.monotonic() > deadline:
            raise RuntimeError(f"Kannel: {what} not open ({', '.join(dead) or 'nothing'} exited)")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)  # bearerbox drains its queues for a few seconds
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# -- the delivery-report receiver -----------------------------------------------------------------

class Reports(asyncio.Protocol):
    """A minimal HTTP/1.1 server for Kannel's `dlr-url` GETs: notes (id, type) and answers 200 empty.
    Kept below an HTTP framework's cost so the receiver is not the loop's limit."""

    def __init__(self, seen: dict[str, set[int]], done: asyncio.Event, expected: set[str],
                 open_: set[asyncio.Transport]) -> None:
        self.seen, self.done, self.expected, self.open = seen, done, expected, open_
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.open.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.open.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode()
            query = parse_qs(target.partition("?")[2])
            mid, kind = query.get("id", [""])[0], query.get("type", ["0"])[0]
            self.seen.setdefault(mid, set()).add(int(kind) if kind.isdigit() else 0)
            if mid in self.expected and DLR_PHONE in self.seen[mid]:
                self.expected.discard(mid)
                if not self.expected:
                    self.done.set()
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


# -- the loop ---------------------------------------------------------------------------------------

async def loop(sendsms_url: str, n: int, concurrency: int, run: str, timeout: float = 120) -> dict[str, Any]:
    """N sends, `concurrency` at a time, each asking for both reports; returns when every final report
    is in (or at `timeout`): accepted, complete (final report in), reports, seconds."""
    ids = [f"{run}-{i}" for i in range(n)]
    seen: dict[str, set[int]] = {}
    done = asyncio.Event()
    waiting = set(ids)  # one set for every connection Kannel opens
    connections: set[asyncio.Transport] = set()
    server = await asyncio.get_running_loop().create_server(lambda: Reports(seen, done, waiting, connections),
                                                            "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    queue = iter(ids)
    accepted = 0

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        for mid in queue:
            dlr_url = f"http://127.0.0.1:{port}/dlr?id={mid}&type=%d"
            query = urlencode({"username": "bench", "password": "bench", "from": "1234",
                               "to": f"5255{mid.rsplit('-', 1)[1]:0>8}", "text": "Recordatorio de cita",
                               "dlr-mask": str(DLR_SMSC | DLR_PHONE)}) + "&dlr-url=" + quote(dlr_url, safe="")
            async with session.get(f"{sendsms_url}?{query}") as response:
                await response.read()
                accepted += response.status == 202

    start = time.perf_counter()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            await asyncio.gather(*(sender(session) for _ in range(concurrency)))
        if n:
            with suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout)
        seconds = time.perf_counter() - start
    finally:
        server.close()
        for transport in list(connections):  # Kannel keeps its connections alive: close them here
            transport.close()
        await asyncio.sleep(0)  # let each transport's close run
        await server.wait_closed()
    complete = sum(1 for mid in ids if DLR_PHONE in seen.get(mid, set()))
    return {"accepted": accepted, "complete": complete, "seconds": seconds,
            "reports": sum(len(seen.get(mid, set())) for mid in ids)}


def measure(n: int, concurrency: int = 16, binaries: Binaries | None = None) -> dict[str, Any] | None:
    """Kannel's full loop for N messages after a warm-up, or None when Kannel is not installed."""
    binaries = binaries or find_binaries()
    if binaries is None:
        return None
    with running(binaries) as kannel:
        warm = asyncio.run(loop(kannel.sendsms_url, min(50, n), concurrency, "warm", timeout=60))
        if warm["complete"] < min(50, n):
            raise RuntimeError(f"Kannel warm-up: {warm['complete']} of {min(50, n)} loops complete "
                               f"(logs in {kannel.logs})")
        cpu0 = kannel.cpu()
        result = asyncio.run(loop(kannel.sendsms_url, n, concurrency, "run"))
        cpu = kannel.cpu() - cpu0
    return {**result, "messages": n, "concurrency": concurrency, "cpu_seconds": cpu,
            "messages_per_s": result["complete"] / result["seconds"] if result["seconds"] else 0.0,
            "cpu_ms_per_message": cpu * 1000 / max(1, result["complete"])}


# -- carelay as ratios to Kannel ----------------------------------------------------------------------

def ratios(e2e: dict[str, Any], kannel: dict[str, Any]) -> dict[str, float | None]:
    """carelay's CPU per lifecycle and reconciled/s as multiples of Kannel's CPU per message and full-loop
    messages/s (None where Kannel's figure is zero: nothing to divide by)."""
    cpu, rate = kannel["cpu_ms_per_message"], kannel["messages_per_s"]
    return {"cpu_per_message": e2e["carelay_cpu_ms_per_message"] / cpu if cpu else None,
            "messages_per_s": e2e["reconciled_per_s"] / rate if rate else None}


def ratio_lines(results: dict[str, Any]) -> list[str]:
    """The peer's lines of the report: Kannel's own figures, then each end-to-end run as ratios."""
    kannel = results.get("kannel")
    if kannel is None:
        return [f"peer: {results.get('kannel_missing') or missing_text()}"]
    lines = [f"peer: Kannel         {kannel['complete']:,} of {kannel['messages']:,} loops complete, "
             f"{kannel['messages_per_s']:,.0f} messages/s full loop, {kannel['cpu_ms_per_message']:.3f} ms CPU "
             "per message (bearerbox + smsbox + fakesmsc; send, two delivery reports over HTTP)"]
    for key, label in (("end_to_end", "saturated"), ("end_to_end_paced", "paced")):
        if key in results:
            r = ratios(results[key], kannel)
            cpu = "n/a" if r["cpu_per_message"] is None else f"{r['cpu_per_message']:.1f}x"
            line = f"  carelay/Kannel, {label + ':':<11} CPU per message {cpu} (target <= 3x)"
            if key == "end_to_end":  # the paced run's rate is its pace, not a capacity
                rate = "n/a" if r["messages_per_s"] is None else f"{r['messages_per_s']:.2f}x"
                line += f", full-loop messages/s {rate} (reconciled/s; target >= 0.2x)"
            lines.append(line)
    return lines
